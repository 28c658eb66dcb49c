"""Pinned Helm charts as data: the chart directory, the real helm, hydration of every chart Application
into the objects Argo CD would apply, CRD schemas from the charts' own CRDs, and the charts lock file.

- ``chartdir``: where the chart archives are (``--chart-dir``, ``$PLINTH_CHART_DIR``, ``../shared/charts``)
  and which pins they hold (a missing version is a located spec error).
- ``helm``: the helm binary the project installs (``scripts/install_helm.py``), major 3 like Argo CD v3.3/v3.4.
- ``apis``: the built-in API versions and cluster-scoped kinds of a Kubernetes version.
- ``argo``: Argo CD's rules for hooks, sync waves and namespaces of rendered manifests.
- ``hydrate``: ``helm template`` of every chart Application, cached, into ``HydratedObject`` records.
- ``crdschemas``: the charts' CRDs converted to the JSON schemas ``SchemaStore`` reads.
- ``lock``: ``charts.lock.yaml`` (version, appVersion, digest, CRDs, images per pin), written and checked.
"""
