# Aliases for the README's two commands (dev.py needs only Python; make is optional).
.PHONY: demo test

demo:
	python3 dev.py demo

test:
	python3 dev.py test
