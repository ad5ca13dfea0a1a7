"""Synthetic cross-view data: procedural nadir scenes, drone views of them, and datasets in the CVOGL layout.

A `Scene` (objects with footprints, heights and colours; roads; a sun) renders to `SceneLayers` at any scale; the
satellite image is `layers.nadir()` and a drone photo is `render_drone_view(layers, camera, size)`, whose
projector maps scene points to its pixels. `generate_dataset` writes train/val/test pairs in the CVOGL layout.
"""

from smgeo.synth.camera import Camera, Projector, camera_looking_at
from smgeo.synth.dataset import generate_dataset
from smgeo.synth.drone import DroneView, render_drone_view
from smgeo.synth.generate import DIFFICULTIES, SynthOptions, render_scene_pairs, synth_options
from smgeo.synth.layout import generate_scene
from smgeo.synth.photometric import photometric_change
from smgeo.synth.scene import ObjectSpec, Scene, SceneLayers, SceneObject

__all__ = [
    "DIFFICULTIES",
    "Camera",
    "DroneView",
    "ObjectSpec",
    "Projector",
    "Scene",
    "SceneLayers",
    "SceneObject",
    "SynthOptions",
    "camera_looking_at",
    "generate_dataset",
    "generate_scene",
    "photometric_change",
    "render_drone_view",
    "render_scene_pairs",
    "synth_options",
]
