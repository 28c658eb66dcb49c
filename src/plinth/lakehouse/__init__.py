"""The Iceberg lake's own programs: table maintenance and catalog setup.

Each module here is a self-contained script (standard library, plus pyiceberg for maintenance) that the
platform mounts from a ConfigMap into its jobs and that the drills run on real servers: the code a drill
exercises is the code the cluster runs. Nothing here imports the rest of Plinth.
"""
