//! AWS Resource Explorer: one `ListResources` query through a view lists every resource of many
//! types, tagged or not, where the region has an index.
//!
//! The query is `accountid:<account> region:<region> resourcetype:<t1> resourcetype:<t2> …`
//! (filters of one prefix are OR-ed, of different prefixes AND-ed), split so that no filter
//! string passes [`MAX_FILTER_CHARS`]. It has no tag filter: a resource carrying every required
//! key may still carry a wrong value, so tags are read for everything found, and the index's tag
//! data lags behind the resource.
//!
//! moto has no Resource Explorer, so its tests (below) answer the client's HTTP requests with
//! canned responses through the SDK's own `HttpClient` extension point. Not `aws-smithy-mocks`
//! or `StaticReplayClient`: both turn on the `test-util` feature of `aws-smithy-runtime-api` and
//! `aws-smithy-http-client`, which every SDK crate depends on, so every test build would compile
//! the whole SDK a second time.

use std::collections::BTreeSet;

use aws_sdk_resourceexplorer2::types::{IndexState, SearchFilter};

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

/// The longest filter string `ListResources` accepts.
pub(crate) const MAX_FILTER_CHARS: usize = 2048;

/// Resource Explorer's calls.
pub(super) const CALLS: &[IamCall] = &[
    IamCall::new(
        "resource-explorer-2:GetIndex",
        &["resource-explorer-2:GetIndex"],
        "whether the region has an index",
    ),
    IamCall::new(
        "resource-explorer-2:ListSupportedResourceTypes",
        &["resource-explorer-2:ListSupportedResourceTypes"],
        "the types the index holds",
    ),
    // ListResources is authorized by the Search action: the API reference's "minimum
    // permissions", and IAM knows no `resource-explorer-2:ListResources` (cfn-lint W3037).
    IamCall::new(
        "resource-explorer-2:ListResources",
        &["resource-explorer-2:Search"],
        "list the resources of the selected types through a view",
    ),
];

/// Whether Resource Explorer can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExplorerState {
    /// Not used, and why (no index, not asked for, not allowed).
    Unused(String),
    /// An active index holding these types (`s3:bucket`).
    Ready(BTreeSet<String>),
}

/// Resource Explorer in one region, as far as discovery uses it.
#[derive(Debug, Clone)]
pub struct Explorer {
    client: Option<aws_sdk_resourceexplorer2::Client>,
    view: Option<String>,
    state: ExplorerState,
}

impl Explorer {
    /// Resource Explorer not used, for `reason`.
    pub fn unused(reason: impl Into<String>) -> Self {
        Self {
            client: None,
            view: None,
            state: ExplorerState::Unused(reason.into()),
        }
    }

    /// Looks for an active index in the client's region (`GetIndex`) and the types it holds
    /// (`ListSupportedResourceTypes`); queries go through `view`, else the region's default view.
    /// Any failure leaves it unused, with the failure as the reason.
    pub(crate) async fn detect(
        client: aws_sdk_resourceexplorer2::Client,
        view: Option<String>,
    ) -> Self {
        let state = match Self::index_types(&client).await {
            Ok(state) => state,
            Err(error) => ExplorerState::Unused(format!(
                "Resource Explorer is not available: {}",
                error.describe()
            )),
        };
        Self {
            client: Some(client),
            view,
            state,
        }
    }

    async fn index_types(
        client: &aws_sdk_resourceexplorer2::Client,
    ) -> Result<ExplorerState, StoreError> {
        // A probe: a region without an index (or a stand-in without the service) answers at
        // once, and the scan should not wait through the retries of a failing answer.
        let index = client
            .get_index()
            .customize()
            .config_override(
                aws_sdk_resourceexplorer2::Config::builder()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| store_error("GetIndex", &e))?;
        if index.state() != Some(&IndexState::Active) {
            return Ok(ExplorerState::Unused(format!(
                "the region's Resource Explorer index is not active ({})",
                index.state().map_or("no state", IndexState::as_str)
            )));
        }
        let types = paginate(|token| async move {
            let output = client
                .list_supported_resource_types()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| store_error("ListSupportedResourceTypes", &e))?;
            let types = output
                .resource_types()
                .iter()
                .filter_map(|t| t.resource_type().map(str::to_owned))
                .collect();
            Ok((types, output.next_token().map(str::to_owned)))
        })
        .await?;
        Ok(ExplorerState::Ready(types.into_iter().collect()))
    }

    /// True when the index holds `resource_type`.
    pub(crate) fn supports(&self, resource_type: &str) -> bool {
        matches!(&self.state, ExplorerState::Ready(types) if types.contains(resource_type))
    }

    /// Why it is not used, when it is not.
    pub(crate) fn unused_reason(&self) -> Option<String> {
        match &self.state {
            ExplorerState::Unused(reason) => Some(reason.clone()),
            ExplorerState::Ready(_) => None,
        }
    }

    /// The ARNs of every resource of `types` the index holds for `place`.
    pub(super) async fn list(
        &self,
        place: &Place,
        types: &[&String],
    ) -> Result<Vec<String>, StoreError> {
        let Some(client) = &self.client else {
            return Err(StoreError::permanent(
                "ListResources",
                "Resource Explorer is not used",
            ));
        };
        let mut arns = Vec::new();
        for filter in filter_strings(place, types) {
            let filter = &filter;
            let found = paginate(|token| async move {
                let output = client
                    .list_resources()
                    .filters(
                        SearchFilter::builder()
                            .filter_string(filter)
                            .build()
                            .map_err(|e| StoreError::permanent("ListResources", e.to_string()))?,
                    )
                    .set_view_arn(self.view.clone())
                    .max_results(1000)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| store_error("ListResources", &e))?;
                let arns = output
                    .resources()
                    .iter()
                    // An aggregator's view holds other accounts' resources too.
                    .filter(|r| r.owning_account_id().is_none_or(|a| a == place.account))
                    .filter_map(|r| r.arn().map(str::to_owned))
                    .collect();
                Ok((arns, output.next_token().map(str::to_owned)))
            })
            .await?;
            arns.extend(found);
        }
        Ok(arns)
    }
}

/// The filter strings for `types` in `place`, each at most [`MAX_FILTER_CHARS`] long.
fn filter_strings(place: &Place, types: &[&String]) -> Vec<String> {
    let base = format!("accountid:{} region:{}", place.account, place.region);
    let mut filters = Vec::new();
    let mut current = base.clone();
    for kind in types {
        let term = format!(" resourcetype:{kind}");
        if current.len() + term.len() > MAX_FILTER_CHARS && current != base {
            filters.push(std::mem::replace(&mut current, base.clone()));
        }
        current.push_str(&term);
    }
    if current != base {
        filters.push(current);
    }
    filters
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_resourceexplorer2::config::{Credentials, Region};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// Answers each request by its path (`/ListResources`) with the next canned body for that
    /// path, and records every request's path and body. moto lacks Resource Explorer, so the
    /// client's HTTP requests are answered here, through the SDK's `HttpClient` extension point.
    /// A canned answer: the request path it answers, its status and its body.
    type Answer = (&'static str, u16, String);

    #[derive(Debug, Clone, Default)]
    struct Replay {
        answers: Arc<Mutex<Vec<Answer>>>,
        requests: Arc<Mutex<Vec<(String, String)>>>,
    }

    impl Replay {
        fn answer(&self, path: &'static str, status: u16, body: &str) {
            self.answers
                .lock()
                .unwrap()
                .push((path, status, body.to_owned()));
        }

        fn requests(&self) -> Vec<(String, String)> {
            self.requests.lock().unwrap().clone()
        }

        fn client(&self) -> aws_sdk_resourceexplorer2::Client {
            let config = aws_sdk_resourceexplorer2::Config::builder()
                .behavior_version_latest()
                .region(Region::new("eu-west-1"))
                .credentials_provider(Credentials::new("a", "b", None, None, "test"))
                .http_client(self.clone())
                .build();
            aws_sdk_resourceexplorer2::Client::from_conf(config)
        }
    }

    impl HttpConnector for Replay {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let path = request
                .uri()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let body =
                String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
            self.requests.lock().unwrap().push((path.clone(), body));
            let mut answers = self.answers.lock().unwrap();
            let at = answers
                .iter()
                .position(|(p, _, _)| *p == path)
                .unwrap_or_else(|| panic!("no canned answer for /{path}"));
            let (_, status, body) = answers.remove(at);
            let mut response =
                HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
            response
                .headers_mut()
                .insert("content-type", "application/json");
            if status >= 400 {
                response
                    .headers_mut()
                    .insert("x-amzn-errortype", "ResourceNotFoundException");
            }
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Replay {
        fn http_connector(
            &self,
            _settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    fn place() -> Place {
        Place {
            account: "111122223333".to_owned(),
            region: "eu-west-1".to_owned(),
            lists_global: true,
        }
    }

    #[tokio::test]
    async fn lists_every_selected_type_through_the_index_page_by_page() {
        let replay = Replay::default();
        replay.answer(
            "GetIndex",
            200,
            r#"{"Arn":"arn:aws:resource-explorer-2:eu-west-1:111122223333:index/i","Type":"LOCAL","State":"ACTIVE"}"#,
        );
        replay.answer(
            "ListSupportedResourceTypes",
            200,
            r#"{"ResourceTypes":[{"Service":"s3","ResourceType":"s3:bucket"},{"Service":"glue","ResourceType":"glue:job"}]}"#,
        );
        replay.answer(
            "ListResources",
            200,
            r#"{"Resources":[{"Arn":"arn:aws:s3:::never-tagged","OwningAccountId":"111122223333","Region":"eu-west-1","ResourceType":"s3:bucket","Service":"s3","Properties":[]},
                {"Arn":"arn:aws:s3:::someone-elses","OwningAccountId":"444455556666","Region":"eu-west-1","ResourceType":"s3:bucket","Service":"s3","Properties":[]}],
               "NextToken":"page-2","ViewArn":"arn:aws:resource-explorer-2:eu-west-1:111122223333:view/v/1"}"#,
        );
        replay.answer(
            "ListResources",
            200,
            r#"{"Resources":[{"Arn":"arn:aws:glue:eu-west-1:111122223333:job/nightly","OwningAccountId":"111122223333","Region":"eu-west-1","ResourceType":"glue:job","Service":"glue","Properties":[]}]}"#,
        );
        let explorer = Explorer::detect(replay.client(), None).await;
        assert!(explorer.supports("s3:bucket"));
        assert!(explorer.supports("glue:job"));
        assert!(!explorer.supports("ec2:instance"));
        assert_eq!(explorer.unused_reason(), None);
        let (bucket, job) = ("s3:bucket".to_owned(), "glue:job".to_owned());
        let arns = explorer.list(&place(), &[&bucket, &job]).await.unwrap();
        assert_eq!(
            arns,
            [
                "arn:aws:s3:::never-tagged",
                "arn:aws:glue:eu-west-1:111122223333:job/nightly"
            ]
        );
        let requests = replay.requests();
        let listed: Vec<&(String, String)> = requests
            .iter()
            .filter(|(p, _)| p == "ListResources")
            .collect();
        assert_eq!(listed.len(), 2, "{requests:?}");
        assert!(
            listed[0].1.contains(
                "accountid:111122223333 region:eu-west-1 resourcetype:s3:bucket resourcetype:glue:job"
            ),
            "{}",
            listed[0].1
        );
        assert!(
            listed[1].1.contains(r#""NextToken":"page-2""#),
            "{}",
            listed[1].1
        );
    }

    #[tokio::test]
    async fn a_region_without_an_index_is_reported_not_used() {
        let replay = Replay::default();
        replay.answer("GetIndex", 404, r#"{"message":"Index not found"}"#);
        let explorer = Explorer::detect(replay.client(), None).await;
        assert!(!explorer.supports("s3:bucket"));
        let reason = explorer.unused_reason().unwrap();
        assert!(reason.contains("GetIndex"), "{reason}");
        assert!(reason.contains("ResourceNotFoundException"), "{reason}");
    }

    #[test]
    fn long_type_lists_are_split_under_the_filter_limit() {
        let types: Vec<String> = (0..200)
            .map(|i| format!("service{i}:resource-type"))
            .collect();
        let refs: Vec<&String> = types.iter().collect();
        let filters = filter_strings(&place(), &refs);
        assert!(filters.len() > 1);
        assert!(filters.iter().all(|f| f.len() <= MAX_FILTER_CHARS));
        assert!(filters
            .iter()
            .all(|f| f.starts_with("accountid:111122223333 region:eu-west-1 ")));
        let terms: usize = filters
            .iter()
            .map(|f| f.matches("resourcetype:").count())
            .sum();
        assert_eq!(terms, 200);
    }
}
