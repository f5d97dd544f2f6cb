"""The Python side of tests/deploy.rs: the SAM translator, and AWS calls on the moto server.

Run with the test virtualenv's Python ($ENFORCER_VENV, tests/requirements.txt pins
aws-sam-translator and moto, whose boto3 this uses). Two commands:

  transform TEMPLATE REGION CODE_BUCKET CODE_KEY
      Prints TEMPLATE (YAML, short-form intrinsics allowed) transformed by the SAM translator for
      REGION, as JSON, each AWS::Serverless::Function's CodeUri first replaced by
      s3://CODE_BUCKET/CODE_KEY (what `sam package` does before `sam deploy`). Reads the stack's
      parameter values from stdin, as a JSON object: CloudFormation's transform resolves some
      properties with them (e.g. EventInvokeConfig's MaximumRetryAttempts).

  call ENDPOINT REGION ACCOUNT
      Reads a JSON list of [service, operation, parameters] from stdin, makes each call with boto3
      on ENDPOINT in moto account ACCOUNT (the `x-moto-account-id` header), and prints a JSON list
      of the answers, each {"ok": response} or {"error": {"code", "message"}}. Only
      `s3.put_object`'s Body may be given as {"zip_of": DIR}: a zip of DIR's files, as `sam
      package` uploads a function's folder.

Why Python for these calls: the Rust test suite's SDK clients (tests/support/moto.rs) cover the
services the enforcer calls; CloudFormation, EventBridge, CloudWatch, KMS and Logs are not among
them, and four more SDK crates would lengthen every cold test build for this one test.
"""

import io
import json
import os
import sys
import zipfile


def transform(template_path, region, code_bucket, code_key):
    # The translator reads the region (for ARNs of the pseudo parameters) from boto3's session.
    os.environ["AWS_DEFAULT_REGION"] = region
    from samtranslator.translator.transform import transform as sam_transform
    from samtranslator.yaml_helper import yaml_parse

    with open(template_path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{code_bucket}/{code_key}"

    class NoManagedPolicies:
        """The templates name no AWS managed policy by name: nothing to look up."""

        def load(self):
            return {}

    parameters = json.load(sys.stdin)
    transformed = sam_transform(template, parameters, NoManagedPolicies())
    json.dump(transformed, sys.stdout, indent=1, sort_keys=True, default=str)


def zip_of(directory):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(directory):
            for name in sorted(files):
                path = os.path.join(root, name)
                archive.write(path, os.path.relpath(path, directory))
    return buffer.getvalue()


def call(endpoint, region, account):
    import boto3
    import botocore.exceptions

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )

    def add_account(request, **_):
        request.headers["x-moto-account-id"] = account

    clients = {}
    answers = []
    for service, operation, parameters in json.load(sys.stdin):
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint)
            clients[service].meta.events.register("before-sign.*.*", add_account)
        if isinstance(parameters.get("Body"), dict):
            parameters["Body"] = zip_of(parameters["Body"]["zip_of"])
        try:
            response = getattr(clients[service], operation)(**parameters)
            response.pop("ResponseMetadata", None)
            answers.append({"ok": response})
        except botocore.exceptions.ClientError as error:
            answers.append(
                {
                    "error": {
                        "code": error.response["Error"].get("Code"),
                        "message": error.response["Error"].get("Message"),
                    }
                }
            )
    json.dump(answers, sys.stdout, default=str)


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"transform": transform, "call": call}[command](*arguments)
