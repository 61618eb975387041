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

    patches_scale_and_deletion(v1, apps, ns)
    exec_over_websocket(v1, ns)
    print("python client conformance: ok")


def exec_over_websocket(v1, ns):
    """The client's `stream` helper: exec over WebSocket (it offers v4.channel.k8s.io),
    with the server's built-in `echo`, `cat` and `sh -c 'exit N'`."""
    from kubernetes.stream import stream

    v1.create_namespaced_pod(ns, client.V1Pod(
        metadata=client.V1ObjectMeta(name="shell"),
        spec=client.V1PodSpec(node_name="node-1", containers=[client.V1Container(name="c", image="busybox")]),
    ))
    out = stream(v1.connect_get_namespaced_pod_exec, "shell", ns,
                 command=["echo", "hello", "world"], stderr=True, stdin=False, stdout=True, tty=False)
    check(out == "hello world\n", f"exec echo answers its words, got {out!r}")
    resp = stream(v1.connect_get_namespaced_pod_exec, "shell", ns,
                  command=["cat"], stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("round trip\n")
    got = ""
    while resp.is_open() and "round trip" not in got:
        resp.update(timeout=5)
        got += resp.read_stdout() or ""
    resp.close()
    check(got == "round trip\n", f"exec cat echoes stdin, got {got!r}")
    resp = stream(v1.connect_get_namespaced_pod_exec, "shell", ns,
                  command=["sh", "-c", "exit 3"], stderr=True, stdin=False, stdout=True, tty=False,
                  _preload_content=False)
    resp.run_forever(timeout=5)
    check(resp.returncode == 3, f"exec exit code reaches the client, got {resp.returncode}")
    try:
        stream(v1.connect_get_namespaced_pod_exec, "missing", ns, command=["true"],
               stderr=True, stdin=False, stdout=True, tty=False)
        check(False, "exec into a missing pod must fail")
    except ApiException as e:
        # The WebSocket client reports a refused handshake with status 0 and the answer's
        # status line in its reason, whatever the server.
        check("404" in str(e.reason), f"exec into a missing pod is 404, got {e.reason!r}")


def patches_scale_and_deletion(v1, apps, ns):
    """Patch of every type, the scale subresource, server-side apply and deletion
    propagation, through the client's own API."""
    # Strategic merge patch (the client's default for a dict): containers merge by name.
    apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:1.36"}]}}}},
        _content_type="application/strategic-merge-patch+json")
    dep = apps.read_namespaced_deployment("web", ns)
    names = [c.name for c in dep.spec.template.spec.containers]
    check(sorted(names) == ["c", "side"], f"strategic merge kept both containers, got {names}")
    # JSON patch and merge patch.
    apps.patch_namespaced_deployment(
        "web", ns, [{"op": "add", "path": "/metadata/labels", "value": {"json": "yes"}}],
        _content_type="application/json-patch+json")
    apps.patch_namespaced_deployment(
        "web", ns, {"metadata": {"labels": {"merge": "yes"}}},
        _content_type="application/merge-patch+json")
    labels = apps.read_namespaced_deployment("web", ns).metadata.labels
    check(labels == {"json": "yes", "merge": "yes"}, f"json + merge patch labels {labels}")
    # A failed JSON patch test is 422 and changes nothing.
    try:
        apps.patch_namespaced_deployment(
            "web", ns, [{"op": "replace", "path": "/spec/replicas", "value": 9},
                        {"op": "test", "path": "/spec/replicas", "value": 42}],
            _content_type="application/json-patch+json")
        check(False, "a failed test must fail the patch")
    except ApiException as e:
        check(e.status == 422, f"failed test is 422, got {e.status}")
    check(apps.read_namespaced_deployment("web", ns).spec.replicas == 1, "nothing applied")

    # Scale subresource.
    scale = apps.read_namespaced_deployment_scale("web", ns)
    check(scale.spec.replicas == 1 and scale.status.selector == "app=web", f"scale {scale}")
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 4}},
                                           _content_type="application/merge-patch+json")
    check(apps.read_namespaced_deployment("web", ns).spec.replicas == 4, "scaled to 4")
    scale = apps.read_namespaced_deployment_scale("web", ns)
    scale.spec.replicas = 0
    apps.replace_namespaced_deployment_scale("web", ns, scale)
    check(apps.read_namespaced_deployment_scale("web", ns).spec.replicas in (None, 0), "scaled to 0")

    # Server-side apply with managedFields, and a conflict between managers.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"k": "1"}}
    made = v1.patch_namespaced_config_map("applied", ns, cm, field_manager="py-one",
                                          _content_type="application/apply-patch+yaml")
    entries = [(m.manager, m.operation) for m in made.metadata.managed_fields]
    check(entries == [("py-one", "Apply")], f"managedFields {entries}")
    again = v1.patch_namespaced_config_map("applied", ns, cm, field_manager="py-one",
                                           _content_type="application/apply-patch+yaml")
    check(again.metadata.resource_version == made.metadata.resource_version, "re-apply is a no-op")
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"k": "2"}}
    try:
        v1.patch_namespaced_config_map("applied", ns, other, field_manager="py-two",
                                       _content_type="application/apply-patch+yaml")
        check(False, "a conflicting apply must fail")
    except ApiException as e:
        check(e.status == 409 and "conflict" in e.body, f"conflict is 409, got {e.status} {e.body}")
    forced = v1.patch_namespaced_config_map("applied", ns, other, field_manager="py-two", force=True,
                                            _content_type="application/apply-patch+yaml")
    check(forced.data == {"k": "2"}, "force takes the field")

    # Deletion propagation through ownerReferences.
    owner = apps.read_namespaced_deployment("web", ns)
    ref = client.V1OwnerReference(api_version="apps/v1", kind="Deployment", name="web", uid=owner.metadata.uid)
    for name in ["kept", "gone"]:
        v1.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, owner_references=[ref]), data={"a": "b"}))
    # Orphan: a second owner object, deleted with Orphan, leaves "kept" without references.
    orphaning = v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="orphaner")))
    oref = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="orphaner", uid=orphaning.metadata.uid)
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="orphan", owner_references=[oref])))
    v1.delete_namespaced_config_map("orphaner", ns, propagation_policy="Orphan")
    orphan = v1.read_namespaced_config_map("orphan", ns)
    check(not orphan.metadata.owner_references, "orphaned dependent lost its reference")
    # Foreground: the deployment's dependents go with it.
    apps.delete_namespaced_deployment("web", ns, propagation_policy="Foreground")
    left = [c.metadata.name for c in v1.list_namespaced_config_map(ns).items]
    check("gone" not in left and "kept" not in left, f"dependents deleted, left {left}")
    check(apps.list_namespaced_deployment(ns).items == [], "deployment deleted")
    try:
        v1.delete_namespaced_config_map("orphan", ns, propagation_policy="Sideways")
        check(False, "a bad propagation policy must fail")
    except ApiException as e:
        check(e.status == 422, f"bad propagationPolicy is 422, got {e.status}")


if __name__ == "__main__":
    main(sys.argv[1])
