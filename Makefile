# The two commands a newcomer needs: `make run` and `make test`. Both create/update .venv/ first.
.PHONY: run test venv lint bench

run: venv
	.venv/bin/python deploy/local/run.py

test:
	bash deploy/local/test.sh

venv:
	bash deploy/local/venv.sh

lint: venv
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Benchmarks (numbers for docs/results/, never pass/fail on time): the model, then the platform end to end.
bench: venv
	.venv/bin/smgeo bench --out docs/results/bench_model.json
	bash deploy/local/test.sh -m bench tests/benchmarks -s
