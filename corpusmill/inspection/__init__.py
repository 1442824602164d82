"""`corpus inspect OUT`: look at kept or removed documents of a build, filtered and sampled,
streaming over its Parquet files (select.py), with a safe `--where` language (where.py), shown in
the terminal or as JSON lines (show.py)."""
