//! What a regex can match, decided on automata rather than guessed from samples.
//!
//! Each pattern (or list of patterns) is compiled to a DFA (`regex-automata`, the engine under
//! the `regex` crate, with the same syntax). Questions about the set of strings a pattern
//! selects are then answered by a breadth-first search over the product of the DFAs and a small
//! UTF-8 automaton (resource names are text, so only valid UTF-8 strings without control
//! characters count):
//!
//! * do two patterns match a common string? (rules that can select the same resource)
//! * does a pattern match any string at all? (rules that can never match)
//! * does a pattern match every non-empty string? (patterns that match everything)
//!
//! The search returns the shortest witness string, preferring lowercase letters, digits and `-`,
//! so a diagnostic can show an example name. A pattern the DFA builder rejects (Unicode word
//! boundaries `\b`, or a DFA over the size limit) or a search over the state limit gives
//! [`Answer::Unknown`]; callers treat that conservatively.

use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

/// Largest DFA built for one pattern list, in bytes.
const DFA_SIZE_LIMIT: usize = 4 << 20;
/// Most product states visited by one search.
const SEARCH_LIMIT: usize = 200_000;

/// The strings a list of patterns matches (any of them, searched anywhere in the string, as
/// `Regex::is_match` does).
#[derive(Debug, Clone)]
pub struct Language {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl Language {
    /// Compiles `patterns`; `None` when the DFA cannot be built (see the module docs).
    pub fn new<P: AsRef<str>>(patterns: &[P]) -> Option<Self> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    .minimize(false)
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
            )
            .build_many(patterns)
            .ok()?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::No))
            .ok()?;
        Some(Self { dfa, start })
    }
}

/// The answer to a question about languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes, and here is an example string.
    Yes(String),
    /// No such string exists.
    No,
    /// The automata could not decide (see the module docs).
    Unknown,
}

/// A string that every language in `all` matches (`None` stands for "every string").
pub fn common_string(all: &[Option<&Language>]) -> Answer {
    let languages: Vec<(&Language, bool)> = all.iter().flatten().map(|l| (*l, true)).collect();
    search(&languages, 0)
}

/// A non-empty string `language` does not match: `No` means it matches every non-empty string.
pub fn unmatched_string(language: &Language) -> Answer {
    search(&[(language, false)], 1)
}

/// A string of `universe` that `language` does not match: `No` means it matches all of them.
pub fn unmatched_string_within(language: &Language, universe: &Language) -> Answer {
    search(&[(universe, true), (language, false)], 1)
}

/// The UTF-8 automaton: which continuation bytes are still expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Utf8 {
    /// At a character boundary.
    Boundary,
    /// `n` more bytes in 0x80..=0xBF.
    Tail(u8),
    /// After 0xE0: one byte in 0xA0..=0xBF, then one tail byte.
    E0,
    /// After 0xED: one byte in 0x80..=0x9F, then one tail byte.
    Ed,
    /// After 0xF0: one byte in 0x90..=0xBF, then two tail bytes.
    F0,
    /// After 0xF4: one byte in 0x80..=0x8F, then two tail bytes.
    F4,
}

impl Utf8 {
    fn next(self, byte: u8) -> Option<Self> {
        let tail = (0x80..=0xBF).contains(&byte);
        match self {
            Self::Boundary => match byte {
                // Names, ARNs and tag values hold no control characters.
                0x00..=0x1F | 0x7F => None,
                0x20..=0x7E => Some(Self::Boundary),
                0xC2..=0xDF => Some(Self::Tail(1)),
                0xE0 => Some(Self::E0),
                0xED => Some(Self::Ed),
                0xE1..=0xEF => Some(Self::Tail(2)),
                0xF0 => Some(Self::F0),
                0xF4 => Some(Self::F4),
                0xF1..=0xF3 => Some(Self::Tail(3)),
                _ => None,
            },
            Self::Tail(n) if tail => Some(if n == 1 {
                Self::Boundary
            } else {
                Self::Tail(n - 1)
            }),
            Self::E0 if (0xA0..=0xBF).contains(&byte) => Some(Self::Tail(1)),
            Self::Ed if (0x80..=0x9F).contains(&byte) => Some(Self::Tail(1)),
            Self::F0 if (0x90..=0xBF).contains(&byte) => Some(Self::Tail(2)),
            Self::F4 if (0x80..=0x8F).contains(&byte) => Some(Self::Tail(2)),
            _ => None,
        }
    }
}

/// Bytes in the order the search tries them, so witnesses read like resource names.
fn byte_order() -> &'static [u8; 256] {
    static ORDER: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let mut order = Vec::with_capacity(256);
        order.extend(b'a'..=b'z');
        order.extend(b'0'..=b'9');
        order.push(b'-');
        order.extend(b'A'..=b'Z');
        order.extend(b"_./:".iter().copied());
        for byte in 0..=255u8 {
            if !order.contains(&byte) {
                order.push(byte);
            }
        }
        let mut out = [0u8; 256];
        out.copy_from_slice(&order);
        out
    })
}

/// One language's position in the search: its DFA state, or `None` once it has matched.
type Position = Option<StateID>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Node {
    positions: Vec<Position>,
    utf8: Utf8,
}

/// Searches for a string of at least `min_len` bytes that each language matches (`true`) or
/// does not match (`false`).
fn search(languages: &[(&Language, bool)], min_len: usize) -> Answer {
    let initial = Node {
        positions: languages.iter().map(|(l, _)| Some(l.start)).collect(),
        utf8: Utf8::Boundary,
    };
    // node → (parent index, byte, depth)
    let mut nodes: Vec<Node> = vec![initial.clone()];
    let mut parents: Vec<Option<(usize, u8)>> = vec![None];
    let mut depths: Vec<usize> = vec![0];
    let mut seen: HashMap<(Node, bool), usize> = HashMap::new();
    seen.insert((initial, false), 0);
    let mut queue = VecDeque::from([0usize]);
    while let Some(index) = queue.pop_front() {
        let node = nodes[index].clone();
        let depth = depths[index];
        // Does the string so far answer the question?
        if depth >= min_len && node.utf8 == Utf8::Boundary {
            match accepts(languages, &node) {
                Some(true) => return Answer::Yes(witness(&parents, index)),
                Some(false) => {}
                None => return Answer::Unknown,
            }
        }
        for &byte in byte_order() {
            let Some(utf8) = node.utf8.next(byte) else {
                continue;
            };
            let mut positions = Vec::with_capacity(languages.len());
            let mut alive = true;
            for ((language, want), position) in languages.iter().zip(&node.positions) {
                let next = match position {
                    None => None,
                    Some(state) => {
                        let next = language.dfa.next_state(*state, byte);
                        if language.dfa.is_quit_state(next) {
                            return Answer::Unknown;
                        }
                        if language.dfa.is_match_state(next) {
                            None
                        } else {
                            Some(next)
                        }
                    }
                };
                match (next, want) {
                    // Matched, but must not match: this branch is lost.
                    (None, false) => alive = false,
                    // Can never match any more, but must: lost.
                    (Some(state), true) if language.dfa.is_dead_state(state) => alive = false,
                    _ => {}
                }
                positions.push(next);
            }
            if !alive {
                continue;
            }
            let child = Node { positions, utf8 };
            // Depth only matters below `min_len`.
            let key = (child.clone(), depth + 1 >= min_len);
            if seen.contains_key(&key) {
                continue;
            }
            if nodes.len() >= SEARCH_LIMIT {
                return Answer::Unknown;
            }
            nodes.push(child);
            parents.push(Some((index, byte)));
            depths.push(depth + 1);
            seen.insert(key, nodes.len() - 1);
            queue.push_back(nodes.len() - 1);
        }
    }
    Answer::No
}

/// At the end of the string: does every language answer as wanted? `None` when a DFA gave up.
fn accepts(languages: &[(&Language, bool)], node: &Node) -> Option<bool> {
    for ((language, want), position) in languages.iter().zip(&node.positions) {
        let matched = match position {
            None => true,
            Some(state) => {
                let end = language.dfa.next_eoi_state(*state);
                if language.dfa.is_quit_state(end) {
                    return None;
                }
                language.dfa.is_match_state(end)
            }
        };
        if matched != *want {
            return Some(false);
        }
    }
    Some(true)
}

fn witness(parents: &[Option<(usize, u8)>], mut index: usize) -> String {
    let mut bytes = Vec::new();
    while let Some((parent, byte)) = parents[index] {
        bytes.push(byte);
        index = parent;
    }
    bytes.reverse();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(patterns: &[&str]) -> Language {
        Language::new(patterns).unwrap()
    }

    #[test]
    fn overlapping_patterns_yield_a_witness_both_match() {
        let raw = lang(&["^.+-raw-.+$"]);
        let refined = lang(&["^britbox-prod-.+$"]);
        let Answer::Yes(name) = common_string(&[Some(&raw), Some(&refined)]) else {
            panic!("expected an overlap");
        };
        assert_eq!(name, "britbox-prod-raw-a");
        for pattern in ["^.+-raw-.+$", "^britbox-prod-.+$"] {
            assert!(regex::Regex::new(pattern).unwrap().is_match(&name));
        }
    }

    #[test]
    fn disjoint_patterns_do_not_overlap() {
        let a = lang(&["^team-a-"]);
        let b = lang(&["^team-b-"]);
        assert_eq!(common_string(&[Some(&a), Some(&b)]), Answer::No);
        let raw = lang(&["^[a-z0-9]+-[a-z0-9]+-s3-raw-[a-z]{2}-[a-z]+-\\d$"]);
        let curated = lang(&["^[a-z0-9]+-[a-z0-9]+-s3-curated-[a-z]{2}-[a-z]+-\\d$"]);
        assert_eq!(common_string(&[Some(&raw), Some(&curated)]), Answer::No);
    }

    #[test]
    fn unanchored_patterns_match_anywhere() {
        let a = lang(&["raw"]);
        let b = lang(&["^x"]);
        assert_eq!(
            common_string(&[Some(&a), Some(&b)]),
            Answer::Yes("xraw".into())
        );
        assert_eq!(common_string(&[None, Some(&b)]), Answer::Yes("x".into()));
    }

    #[test]
    fn empty_and_universal_languages() {
        assert_eq!(common_string(&[Some(&lang(&["^a$b"]))]), Answer::No);
        assert_eq!(common_string(&[Some(&lang(&["[^\\s\\S]"]))]), Answer::No);
        for everything in [".*", "^.*$", ".+", "^.+$", "", "(?s).", "x*"] {
            assert_eq!(
                unmatched_string(&lang(&[everything])),
                Answer::No,
                "{everything}"
            );
        }
        assert_eq!(
            unmatched_string(&lang(&["^prod-"])),
            Answer::Yes("a".into())
        );
        assert_eq!(
            unmatched_string(&lang(&["^(?:[A-Za-z0-9][A-Za-z0-9-]*)$"])),
            Answer::Yes("-".into())
        );
    }

    #[test]
    fn unicode_classes_are_handled_as_text() {
        let unicode = lang(&["^\\w+$"]);
        let accented = lang(&["é"]);
        let Answer::Yes(name) = common_string(&[Some(&unicode), Some(&accented)]) else {
            panic!("expected an overlap");
        };
        assert_eq!(name, "é");
    }

    #[test]
    fn unsupported_patterns_are_unknown() {
        assert!(Language::new(&["\\bword\\b"]).is_none());
    }
}
