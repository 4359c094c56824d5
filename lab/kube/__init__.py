"""The lab's Kubernetes: an API emulator (lab/kube/api) whose workloads run for real as podman containers
(lab/kube/kubelet), with AKS and OpenShift flavours (lab/kube/flavours). Never shipped in the collection."""
