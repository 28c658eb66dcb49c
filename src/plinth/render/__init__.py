"""The render pipeline: every component, then the aggregation stages over all of them, then the app-of-apps,
laid out as one file per object."""
