"""Reference data files and the script that generates them (build_reference.py)."""
