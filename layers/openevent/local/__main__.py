"""`python -m openevent.local` — the whole system on one machine (what `make run` starts)."""

from openevent.local.runtime import main

if __name__ == "__main__":
    main()
