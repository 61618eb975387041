//! Option structs serialize to the query as the API server expects (camelCase, unset fields left out).

use kubecto_rest_core::{
    Config, CreateOptions, DeleteOptions, Error, GetOptions, ListOptions, PatchOptions,
    Preconditions, PropagationPolicy, RestClient, UpdateOptions, WatchOptions,
};

fn query<P: serde::Serialize>(p: &P) -> Result<String, Error> {
    let client = RestClient::new(Config::new("http://h")).unwrap();
    let url = client.get().resource("pods").params(p).url()?;
    Ok(url
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default())
}

#[test]
fn list_options() {
    assert_eq!(query(&ListOptions::new()).unwrap(), "");
    let opts = ListOptions::new()
        .label_selector("app=web,tier!=db")
        .field_selector("status.phase=Running")
        .limit(100)
        .continue_token("eyJ2Ijoi")
        .resource_version("12")
        .resource_version_match("NotOlderThan")
        .timeout_seconds(30);
    assert_eq!(
        query(&opts).unwrap(),
        "continue=eyJ2Ijoi&fieldSelector=status.phase%3DRunning&labelSelector=app%3Dweb%2Ctier%21%3Ddb&limit=100&resourceVersion=12&resourceVersionMatch=NotOlderThan&timeoutSeconds=30"
    );
}

#[test]
fn watch_options() {
    let opts = WatchOptions::new()
        .resource_version("5")
        .allow_watch_bookmarks(true)
        .send_initial_events(false);
    assert_eq!(
        query(&opts).unwrap(),
        "allowWatchBookmarks=true&resourceVersion=5&sendInitialEvents=false"
    );
    assert_eq!(query(&WatchOptions::new()).unwrap(), "");
    let streaming = WatchOptions::new()
        .send_initial_events(true)
        .resource_version_match("NotOlderThan");
    assert_eq!(
        query(&streaming).unwrap(),
        "resourceVersionMatch=NotOlderThan&sendInitialEvents=true"
    );
}

#[test]
fn write_options() {
    assert_eq!(
        query(&GetOptions::new().resource_version("0")).unwrap(),
        "resourceVersion=0"
    );
    assert_eq!(
        query(&CreateOptions::new().dry_run(true).field_manager("me")).unwrap(),
        "dryRun=All&fieldManager=me"
    );
    assert_eq!(
        query(&UpdateOptions::new().field_validation("Strict")).unwrap(),
        "fieldValidation=Strict"
    );
    assert_eq!(
        query(&PatchOptions::new().force(true).field_manager("kubecto")).unwrap(),
        "fieldManager=kubecto&force=true"
    );
}

#[test]
fn delete_options_is_a_body() {
    let opts = DeleteOptions::new()
        .grace_period_seconds(0)
        .propagation_policy(PropagationPolicy::Foreground)
        .preconditions(Preconditions::new().uid("u-1"))
        .dry_run(true);
    let json = serde_json::to_value(&opts).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "propagationPolicy": "Foreground",
            "preconditions": {"uid": "u-1"},
            "dryRun": ["All"]
        })
    );
    // Preconditions cannot be a query parameter: reported, not panicked.
    assert!(matches!(query(&opts), Err(Error::InvalidRequest { .. })));
}

#[test]
fn any_flat_struct_or_map_works_and_lists_repeat_the_key() {
    #[derive(serde::Serialize)]
    struct Custom {
        container: &'static str,
        follow: bool,
        #[serde(rename = "tailLines")]
        tail_lines: Option<u32>,
        command: Vec<&'static str>,
    }
    let q = query(&Custom {
        container: "app",
        follow: true,
        tail_lines: None,
        command: vec!["sh", "-c"],
    })
    .unwrap();
    assert_eq!(q, "command=sh&command=-c&container=app&follow=true");
    let mut map = std::collections::BTreeMap::new();
    map.insert("pretty", "true");
    assert_eq!(query(&map).unwrap(), "pretty=true");
    assert!(matches!(query(&42), Err(Error::InvalidRequest { .. })));
}
