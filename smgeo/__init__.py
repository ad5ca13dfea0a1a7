"""SMGeo: click-promptable cross-view object geo-localization (pure PyTorch + timm)."""

__version__ = "0.1.0"
