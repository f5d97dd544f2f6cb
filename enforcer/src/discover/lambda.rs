//! Lambda functions: `ListFunctions`.

use super::paginate;
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "lambda:ListFunctions",
    &["lambda:ListFunctions"],
    "list the region's functions",
)];

/// The ARNs of the functions (unqualified: the function, not a version).
pub(super) async fn functions(lambda: &aws_sdk_lambda::Client) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = lambda
            .list_functions()
            .max_items(50)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("ListFunctions", &e))?;
        let arns = output
            .functions()
            .iter()
            .filter_map(|function| function.function_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.next_marker().map(str::to_owned)))
    })
    .await
}
