"""`plinth sim`: a real Kubernetes control plane built from source, on kwok nodes shaped like the spec."""
