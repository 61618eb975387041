//! [`InformerFactory`] (client-go's `SharedInformerFactory`): one shared informer per
//! object type, resource, namespace and selectors, started and synced together.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use kubecto_clientset::{AllNamespaces, Api};
use kubecto_dynamic::{DynamicClient, GroupVersionResource, Unstructured};
use kubecto_rest_core::RestClient;
use serde::de::DeserializeOwned;

use super::{InformerOptions, SharedInformer};
use crate::object::Object;
use crate::shutdown::Shutdown;
use crate::watcher::{ListWatch, ReflectorConfig};

type Starter = Box<dyn Fn(&Shutdown) + Send + Sync>;
type SyncWaiter =
    Box<dyn Fn(Duration) -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

struct Entry {
    informer: Arc<dyn Any + Send + Sync>,
    start: Starter,
    wait: SyncWaiter,
}

/// Hands out shared informers: asking twice for the same type, resource, namespace and
/// selectors gives the same informer, so one watch serves every handler. Informers asked
/// for after [`start`](Self::start) start at once.
pub struct InformerFactory {
    client: RestClient,
    config: ReflectorConfig,
    drop_managed_fields: bool,
    informers: Mutex<HashMap<(TypeId, String), Entry>>,
    started: Mutex<Option<Shutdown>>,
}

impl fmt::Debug for InformerFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("InformerFactory")
            .field(
                "informers",
                &informers.keys().map(|k| &k.1).collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .field("drop_managed_fields", &self.drop_managed_fields)
            .finish()
    }
}

impl InformerFactory {
    /// A factory of informers over `client`, with client-go's reflector defaults.
    pub fn new(client: RestClient) -> Self {
        Self {
            client,
            config: ReflectorConfig::default(),
            drop_managed_fields: false,
            informers: Mutex::new(HashMap::new()),
            started: Mutex::new(None),
        }
    }

    /// Every informer of this factory lists and watches with `config`.
    #[must_use]
    pub fn with_config(mut self, config: ReflectorConfig) -> Self {
        self.config = config;
        self
    }

    /// Every informer of this factory clears `managedFields` before storing an object.
    #[must_use]
    pub fn drop_managed_fields(mut self, yes: bool) -> Self {
        self.drop_managed_fields = yes;
        self
    }

    /// The REST client the informers use.
    pub fn client(&self) -> &RestClient {
        &self.client
    }

    /// The informer of the namespaced kind `K` in `namespace`.
    pub fn namespaced<K, M: 'static>(&self, namespace: &str) -> SharedInformer<K>
    where
        K: Resource<Scope = NamespaceResourceScope> + Object<M> + DeserializeOwned,
    {
        self.informer(ListWatch::new(&Api::<K>::namespaced(
            self.client.clone(),
            namespace,
        )))
    }

    /// The informer of the namespaced kind `K` in every namespace.
    pub fn all_namespaces<K, M: 'static>(&self) -> SharedInformer<K>
    where
        K: Resource<Scope = NamespaceResourceScope> + Object<M> + DeserializeOwned,
    {
        self.informer(ListWatch::all_namespaces(&AllNamespaces::<K>::new(
            self.client.clone(),
        )))
    }

    /// The informer of the cluster-scoped kind `K`.
    pub fn cluster<K, M: 'static>(&self) -> SharedInformer<K>
    where
        K: Resource<Scope = ClusterResourceScope> + Object<M> + DeserializeOwned,
    {
        self.informer(ListWatch::new(&Api::<K>::cluster(self.client.clone())))
    }

    /// The informer of `gvr` as `Unstructured` objects, in `namespace` (or every
    /// namespace, or a cluster-scoped resource, for `None`).
    pub fn dynamic(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
    ) -> SharedInformer<Unstructured> {
        let client = DynamicClient::from_rest_client(self.client.clone());
        self.informer(ListWatch::dynamic(&client, gvr, namespace))
    }

    /// The informer of any collection (with selectors, say). The same source twice gives
    /// the same informer.
    pub fn informer<K, M: 'static>(&self, source: ListWatch<K>) -> SharedInformer<K>
    where
        K: Object<M> + DeserializeOwned,
    {
        let key = (TypeId::of::<K>(), source.identity());
        let mut informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = informers.get(&key)
            && let Some(informer) = e.informer.downcast_ref::<SharedInformer<K>>()
        {
            return informer.clone();
        }
        let mut options = InformerOptions::new().config(self.config.clone());
        if self.drop_managed_fields {
            options = options.transform(|o: &mut K| o.drop_managed_fields());
        }
        let informer = SharedInformer::with_options(source, options);
        let starter = informer.clone();
        let waiter = informer.clone();
        let entry = Entry {
            informer: Arc::new(informer.clone()),
            start: Box::new(move |stop| starter.start(stop)),
            wait: Box::new(move |timeout| {
                let w = waiter.clone();
                Box::pin(async move { w.wait_for_sync(timeout).await })
            }),
        };
        if let Some(stop) = &*self.started.lock().unwrap_or_else(|p| p.into_inner()) {
            (entry.start)(stop);
        }
        informers.insert(key, entry);
        informer
    }

    /// Starts every informer (and those asked for later) until `stop`.
    pub fn start(&self, stop: &Shutdown) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(stop.clone());
        let informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
        for e in informers.values() {
            (e.start)(stop);
        }
    }

    /// Waits until every informer has synced, or `timeout`; whether all did.
    pub async fn wait_for_cache_sync(&self, timeout: Duration) -> bool {
        let waits: Vec<_> = {
            let informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
            informers.values().map(|e| (e.wait)(timeout)).collect()
        };
        futures_util::future::join_all(waits)
            .await
            .into_iter()
            .all(|synced| synced)
    }
}
