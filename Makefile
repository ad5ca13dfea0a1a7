# The two commands a newcomer needs: `make run` and `make test`. Both create/update .venv/ first.
.PHONY: run test venv lint

run: venv
	.venv/bin/python deploy/local/run.py

test:
	bash deploy/local/test.sh

venv:
	bash deploy/local/venv.sh

lint: venv
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
