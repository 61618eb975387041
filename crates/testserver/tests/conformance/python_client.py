"""Conformance: the official Python `kubernetes` client against kubecto-testserver.

Usage: python3 python_client.py KUBECONFIG. Exits non-zero with a message on the
first behaviour that differs from what the client expects of a real apiserver.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    ns = "default"

    # Create and read back, with server-set fields.
    for i in range(7):
        body = client.V1Pod(
            metadata=client.V1ObjectMeta(name=f"py-{i}", labels={"app": "py", "parity": str(i % 2)}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]),
        )
        created = v1.create_namespaced_pod(ns, body)
        check(created.metadata.uid and created.metadata.resource_version, "server-set uid/resourceVersion")
    pod = v1.read_namespaced_pod("py-3", ns)
    check(pod.metadata.labels["parity"] == "1", "read returns labels")
    check(pod.spec.restart_policy == "Always", "defaults applied")
    check(pod.metadata.creation_timestamp is not None, "creationTimestamp parses as a datetime")

    # Errors come back as Status with the right codes.
    try:
        v1.create_namespaced_pod(ns, body)
        check(False, "duplicate create must fail")
    except ApiException as e:
        check(e.status == 409, f"duplicate create is 409, got {e.status}")
    try:
        v1.read_namespaced_pod("nope", ns)
        check(False, "missing pod must 404")
    except ApiException as e:
        check(e.status == 404, f"missing pod is 404, got {e.status}")

    # List with a label selector.
    odd = v1.list_namespaced_pod(ns, label_selector="app=py,parity=1")
    check(sorted(p.metadata.name for p in odd.items) == ["py-1", "py-3", "py-5"], "label selector")

    # Paginate with limit/continue.
    names, token, pages = [], None, 0
    while True:
        page = v1.list_namespaced_pod(ns, label_selector="app=py", limit=3, _continue=token)
        names += [p.metadata.name for p in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    check(names == [f"py-{i}" for i in range(7)], f"pagination returned {names}")
    check(pages == 3, f"3 pages of 3, got {pages}")

    # Watch a few events from the list's resourceVersion.
    rv = v1.list_namespaced_pod(ns).metadata.resource_version
    v1.delete_namespaced_pod("py-0", ns)
    v1.patch_namespaced_pod("py-1", ns, {"metadata": {"labels": {"patched": "yes"}}})
    w = watch.Watch()
    seen = []
    for event in w.stream(v1.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    check(seen == [("DELETED", "py-0"), ("MODIFIED", "py-1")], f"watch events {seen}")

    # Delete the rest through deletecollection and confirm.
    v1.delete_collection_namespaced_pod(ns, label_selector="app=py")
    check(v1.list_namespaced_pod(ns, label_selector="app=py").items == [], "deletecollection")

    # A cluster-scoped resource and another group.
    apps = client.AppsV1Api()
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.27")]),
            ),
        ),
    )
    made = apps.create_namespaced_deployment(ns, dep)
    check(made.spec.replicas == 1 and made.spec.revision_history_limit == 10, "deployment defaults")
    nodes = v1.list_node()
    check(nodes.items == [], "no nodes")
    print("python client conformance: ok")


if __name__ == "__main__":
    main(sys.argv[1])
