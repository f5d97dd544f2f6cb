//! The shapes of the routing ids an `[owners.<name>]` table may name: what Slack and SNS accept,
//! checked where the policy is written rather than when CloudFormation rejects the stack.

/// Longest name of an owner with a Slack route: its generated names, `<FunctionName>-owner-<owner>`
/// (the topic) and `<FunctionName>-<owner>` (the Q Developer channel configuration, at most 128
/// characters), fit with the template's 40-character function name.
pub(crate) const MAX_TOPIC_OWNER_NAME: usize = 80;

/// One kind of routing id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RoutingId {
    /// `slack_workspace_id`: a Slack team id, `T…` (or `E…` for an Enterprise Grid org).
    SlackWorkspace,
    /// `slack_channel_id`: `C…` (public) or `G…` (private).
    SlackChannel,
    /// `sns_topic_arn`.
    SnsTopicArn,
}

impl RoutingId {
    /// `Err` with the problem when `value` does not have this id's shape.
    pub(crate) fn check(self, value: &str) -> Result<(), String> {
        let ok = match self {
            Self::SlackWorkspace => slack_id(value, &['T', 'E']),
            Self::SlackChannel => slack_id(value, &['C', 'G']),
            Self::SnsTopicArn => topic_arn(value),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("`{value}` is not {}", self.what()))
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::SlackWorkspace => "a Slack workspace id",
            Self::SlackChannel => "a Slack channel id",
            Self::SnsTopicArn => "an SNS topic ARN",
        }
    }

    /// How to write it.
    pub(crate) fn help(self) -> &'static str {
        match self {
            Self::SlackWorkspace => {
                "the workspace (team) id as Q Developer shows it, `T` and 6 to 20 capitals or \
                 digits: `T0123ABCD`"
            }
            Self::SlackChannel => {
                "the channel's id (Slack: channel details, at the bottom), `C` or `G` and 6 to 20 \
                 capitals or digits: `C0123456789`; `#name` goes in `slack_channel`"
            }
            Self::SnsTopicArn => {
                "a standard topic's ARN: `arn:aws:sns:eu-west-1:111122223333:data-eng-alerts`"
            }
        }
    }
}

/// `prefix` letter, then 6 to 20 capitals or digits: the ids Slack generates.
fn slack_id(value: &str, prefixes: &[char]) -> bool {
    let mut chars = value.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest = chars.as_str();
    prefixes.contains(&first)
        && (6..=20).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `arn:<partition>:sns:<region>:<account>:<name>`, a standard (not FIFO) topic: Q Developer
/// cannot subscribe to FIFO topics.
fn topic_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    let [arn, partition, service, region, account, name] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "sns"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && topic_name(name, 256)
}

fn topic_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Err` with the problem when an owner's name cannot end its generated topic's and channel
/// configuration's names.
pub(crate) fn check_topic_owner_name(name: &str) -> Result<(), String> {
    if topic_name(name, MAX_TOPIC_OWNER_NAME) {
        Ok(())
    } else {
        Err(format!(
            "owner `{name}` cannot name an SNS topic (letters, digits, `-`, `_`, at most \
             {MAX_TOPIC_OWNER_NAME})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_and_sns_ids_are_checked_by_shape() {
        assert!(RoutingId::SlackWorkspace.check("T0123ABCD").is_ok());
        assert!(RoutingId::SlackWorkspace.check("E0123ABCD").is_ok());
        assert!(RoutingId::SlackWorkspace.check("C0123ABCD").is_err());
        assert!(RoutingId::SlackWorkspace.check("t0123abcd").is_err());
        assert!(RoutingId::SlackChannel.check("C0123456789").is_ok());
        assert!(RoutingId::SlackChannel.check("G0123456789").is_ok());
        assert!(RoutingId::SlackChannel.check("#data-engineering").is_err());
        assert!(RoutingId::SlackChannel.check("C01").is_err());
        assert!(RoutingId::SnsTopicArn
            .check("arn:aws:sns:eu-west-1:111122223333:data-eng-alerts")
            .is_ok());
        assert!(RoutingId::SnsTopicArn
            .check("arn:aws-us-gov:sns:us-gov-west-1:111122223333:a_b")
            .is_ok());
        for bad in [
            "arn:aws:sns:eu-west-1:111122223333:alerts.fifo",
            "arn:aws:sqs:eu-west-1:111122223333:alerts",
            "arn:aws:sns:eu-west-1:1111:alerts",
            "data-eng-alerts",
        ] {
            let problem = RoutingId::SnsTopicArn.check(bad).unwrap_err();
            assert!(problem.contains("not an SNS topic ARN"), "{problem}");
        }
        assert!(check_topic_owner_name("DataEngineering").is_ok());
        assert!(check_topic_owner_name("Data Engineering").is_err());
        assert!(check_topic_owner_name(&"a".repeat(80)).is_ok());
        assert!(check_topic_owner_name(&"a".repeat(81)).is_err());
    }
}
