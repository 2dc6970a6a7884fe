"""Entry point for ``python -m bench.q1_speed``."""

from bench.q1_speed.run import main

if __name__ == "__main__":
    raise SystemExit(main())
