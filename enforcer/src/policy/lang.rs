//! What a regex can match, decided on automata rather than guessed from samples.
//!
//! Each pattern (or list of patterns) is compiled to a lazy DFA (`regex-automata`, the engine
//! under the `regex` crate, with the same syntax), whose states are built only as a search
//! reaches them. Questions about the set of strings a pattern selects are then answered by a
//! breadth-first search over the product of the DFAs and a small UTF-8 automaton (only valid
//! UTF-8 strings without control characters count):
//!
//! * do two patterns match a common string? (rules that can select the same resource)
//! * does a pattern match any string at all? (rules that can never match)
//! * does a pattern match every non-empty string? (patterns that match everything)
//!
//! Resource names and ARNs are printable ASCII ([`Language::names`]); tag values may be any text
//! ([`Language::new`]). When one language of a search is over names, the search is too.
//!
//! The search returns the shortest witness string, preferring lowercase letters, digits and `-`,
//! so a diagnostic can show an example name. A pattern the lazy DFA cannot take (a Unicode word
//! boundary `\b` in a tag-value pattern), a DFA that outgrows [`CACHE_CAPACITY`], or a search
//! over [`SEARCH_LIMIT`] states gives [`Answer::Unknown`]; callers treat that conservatively.

use std::cell::RefCell;
use std::collections::VecDeque;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

/// Memory for the states of one pattern list's lazy DFA, in bytes. When a search needs more,
/// it gives up ([`Answer::Unknown`]) rather than clearing the cache (which would invalidate the
/// state ids the search holds).
const CACHE_CAPACITY: usize = 8 << 20;
/// Most product states visited by one search.
const SEARCH_LIMIT: usize = 200_000;

/// The strings a list of patterns matches (any of them, searched anywhere in the string, as
/// `Regex::is_match` does).
#[derive(Debug, Clone)]
pub(crate) struct Language {
    dfa: DFA,
    cache: RefCell<Cache>,
    /// Only printable ASCII strings count (see [`Language::names`]).
    ascii: bool,
    /// Bytes where the DFA's byte class changes from the byte before (a 256-bit set).
    boundaries: [u64; 4],
}

impl Language {
    /// Compiles `patterns` over text (any Unicode string); `None` when the DFA cannot be built
    /// (see the module docs). For tag values, which may hold any letter.
    pub fn new<P: AsRef<str>>(patterns: &[P]) -> Option<Self> {
        Self::build(patterns, false)
    }

    /// Compiles `patterns` over printable ASCII strings only: resource names and ARNs are
    /// ASCII. On ASCII text the pattern's Unicode classes (`\d`, `\w`, `(?i)`, `\b`) mean what
    /// their ASCII forms mean, so the DFA is built without Unicode: smaller and much faster to
    /// build, and `\b` is supported. Falls back to [`Language::new`] for patterns that need
    /// Unicode (`\p{L}`).
    pub fn names<P: AsRef<str>>(patterns: &[P]) -> Option<Self> {
        Self::build(patterns, true).or_else(|| Self::build(patterns, false))
    }

    fn build<P: AsRef<str>>(patterns: &[P], ascii: bool) -> Option<Self> {
        let dfa = DFA::builder()
            .syntax(syntax::Config::new().unicode(!ascii).utf8(!ascii))
            .thompson(thompson::Config::new().utf8(!ascii))
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(CACHE_CAPACITY)
                    .minimum_cache_clear_count(Some(0)),
            )
            .build_many(patterns)
            .ok()?;
        let cache = RefCell::new(dfa.create_cache());
        let classes = dfa.byte_classes();
        let boundaries = boundaries(|byte| classes.get(byte));
        Some(Self {
            dfa,
            cache,
            ascii,
            boundaries,
        })
    }
}

/// The answer to a question about languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Yes, and here is an example string.
    Yes(String),
    /// No such string exists.
    No,
    /// The automata could not decide (see the module docs).
    Unknown,
}

/// A string that every language in `all` matches (`None` stands for "every string").
pub(crate) fn common_string(all: &[Option<&Language>]) -> Answer {
    let languages: Vec<(&Language, bool)> = all.iter().flatten().map(|l| (*l, true)).collect();
    search(&languages, 0)
}

/// A non-empty string `language` does not match: `No` means it matches every non-empty string.
pub(crate) fn unmatched_string(language: &Language) -> Answer {
    search(&[(language, false)], 1)
}

/// A string of `universe` that `language` does not match: `No` means it matches all of them.
pub(crate) fn unmatched_string_within(language: &Language, universe: &Language) -> Answer {
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

impl Utf8 {
    /// Bytes that [`Utf8::next`] treats alike share a class.
    fn class(byte: u8) -> u8 {
        match byte {
            0x00..=0x1F | 0x7F => 0,
            0x20..=0x7E => 1,
            0x80..=0x8F => 2,
            0x90..=0x9F => 3,
            0xA0..=0xBF => 4,
            0xC0..=0xC1 | 0xF5..=0xFF => 5,
            0xC2..=0xDF => 6,
            0xE0 => 7,
            0xED => 8,
            0xE1..=0xEC | 0xEE..=0xEF => 9,
            0xF0 => 10,
            0xF1..=0xF3 => 11,
            0xF4 => 12,
        }
    }
}

/// The bytes `b` where `class(b) != class(b - 1)`, as a 256-bit set.
fn boundaries(class: impl Fn(u8) -> u8) -> [u64; 4] {
    let mut set = [0u64; 4];
    for byte in 1..=255u8 {
        if class(byte) != class(byte - 1) {
            set[usize::from(byte / 64)] |= 1 << (byte % 64);
        }
    }
    set
}

/// One byte per run of consecutive bytes that every automaton of the search treats alike
/// (the earliest in [`byte_order`], so witnesses stay readable): tens of bytes, not 256.
fn representatives(languages: &[(&Language, bool)]) -> Vec<u8> {
    static UTF8: std::sync::OnceLock<[u64; 4]> = std::sync::OnceLock::new();
    static RANK: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    let rank = RANK.get_or_init(|| {
        let mut rank = [0u8; 256];
        for (position, byte) in byte_order().iter().enumerate() {
            rank[usize::from(*byte)] = u8::try_from(position).unwrap_or(u8::MAX);
        }
        rank
    });
    let mut cuts = *UTF8.get_or_init(|| boundaries(Utf8::class));
    for (language, _) in languages {
        for (cut, language_cut) in cuts.iter_mut().zip(language.boundaries) {
            *cut |= language_cut;
        }
    }
    let ascii = languages.iter().any(|(language, _)| language.ascii);
    let (low, high) = if ascii {
        (0x20u8, 0x7Eu8)
    } else {
        (0u8, 0xFFu8)
    };
    let mut out = Vec::with_capacity(64);
    let mut best: Option<u8> = None;
    for byte in low..=high {
        let cut = byte > low && cuts[usize::from(byte / 64)] & (1 << (byte % 64)) != 0;
        if cut {
            out.extend(best.take());
        }
        best = match best {
            Some(current) if rank[usize::from(current)] <= rank[usize::from(byte)] => Some(current),
            _ => Some(byte),
        };
    }
    out.extend(best);
    out.sort_by_key(|byte| rank[usize::from(*byte)]);
    out
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
type Position = Option<LazyStateID>;

/// Most languages one search combines.
const MAX_LANGUAGES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Node {
    positions: [Position; MAX_LANGUAGES],
    utf8: Utf8,
    /// Whether the string is at least `min_len` bytes long (only that matters about length).
    long_enough: bool,
}

/// FNV-1a: the search hashes many small keys, where SipHash dominates the run time.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// Searches for a string of at least `min_len` bytes that each language matches (`true`) or
/// does not match (`false`).
fn search(languages: &[(&Language, bool)], min_len: usize) -> Answer {
    if languages.len() > MAX_LANGUAGES {
        return Answer::Unknown;
    }
    let mut caches = Vec::with_capacity(languages.len());
    for (language, _) in languages {
        // The same language twice in one question: its cache is already borrowed.
        let Ok(cache) = language.cache.try_borrow_mut() else {
            return Answer::Unknown;
        };
        caches.push(cache);
    }
    let mut positions = [None; MAX_LANGUAGES];
    for (((language, _), cache), slot) in
        languages.iter().zip(caches.iter_mut()).zip(&mut positions)
    {
        let config = start::Config::new().anchored(Anchored::No);
        let Ok(start) = language.dfa.start_state(cache, &config) else {
            return Answer::Unknown;
        };
        *slot = Some(start);
    }
    let initial = Node {
        positions,
        utf8: Utf8::Boundary,
        long_enough: min_len == 0,
    };
    // Breadth first, so the witness is a shortest string; each node remembers its parent.
    let mut nodes: Vec<(Node, Option<(usize, u8)>)> = vec![(initial, None)];
    let mut seen: std::collections::HashSet<Node, FnvBuild> = std::collections::HashSet::default();
    seen.insert(initial);
    let mut queue = VecDeque::from([0usize]);
    let mut depths: Vec<usize> = vec![0];
    let bytes = representatives(languages);
    while let Some(index) = queue.pop_front() {
        let node = nodes[index].0;
        let depth = depths[index];
        // Does the string so far answer the question?
        if node.long_enough && node.utf8 == Utf8::Boundary {
            match accepts(languages, &mut caches, &node) {
                Some(true) => return Answer::Yes(witness(&nodes, index)),
                Some(false) => {}
                None => return Answer::Unknown,
            }
        }
        for &byte in &bytes {
            let Some(utf8) = node.utf8.next(byte) else {
                continue;
            };
            let mut positions = [None; MAX_LANGUAGES];
            let mut alive = true;
            for ((((language, want), position), cache), slot) in languages
                .iter()
                .zip(&node.positions)
                .zip(caches.iter_mut())
                .zip(&mut positions)
            {
                let next = match position {
                    None => None,
                    Some(state) => {
                        let Ok(next) = language.dfa.next_state(cache, *state, byte) else {
                            return Answer::Unknown;
                        };
                        if next.is_quit() {
                            return Answer::Unknown;
                        }
                        if next.is_match() {
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
                    (Some(state), true) if state.is_dead() => alive = false,
                    _ => {}
                }
                *slot = next;
            }
            if !alive {
                continue;
            }
            let child = Node {
                positions,
                utf8,
                long_enough: depth + 1 >= min_len,
            };
            if !seen.insert(child) {
                continue;
            }
            if nodes.len() >= SEARCH_LIMIT {
                return Answer::Unknown;
            }
            nodes.push((child, Some((index, byte))));
            depths.push(depth + 1);
            queue.push_back(nodes.len() - 1);
        }
    }
    Answer::No
}

/// At the end of the string: does every language answer as wanted? `None` when a DFA gave up.
fn accepts(
    languages: &[(&Language, bool)],
    caches: &mut [std::cell::RefMut<'_, Cache>],
    node: &Node,
) -> Option<bool> {
    for (((language, want), position), cache) in
        languages.iter().zip(&node.positions).zip(caches.iter_mut())
    {
        let matched = match position {
            None => true,
            Some(state) => {
                let end = language.dfa.next_eoi_state(cache, *state).ok()?;
                if end.is_quit() {
                    return None;
                }
                end.is_match()
            }
        };
        if matched != *want {
            return Some(false);
        }
    }
    Some(true)
}

fn witness(nodes: &[(Node, Option<(usize, u8)>)], mut index: usize) -> String {
    let mut bytes = Vec::new();
    while let Some((parent, byte)) = nodes[index].1 {
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
    fn names_are_ascii_and_support_word_boundaries() {
        let words = Language::names(&["\\bprod\\b"]).unwrap();
        let digits = Language::names(&["^\\d+-prod$"]).unwrap();
        assert_eq!(
            common_string(&[Some(&words), Some(&digits)]),
            Answer::Yes("0-prod".into())
        );
        let unicode = Language::names(&["^\\p{L}+$"]).unwrap();
        assert_eq!(common_string(&[Some(&unicode)]), Answer::Yes("a".into()));
        assert_eq!(
            unmatched_string(&Language::names(&["^[ -~]+$"]).unwrap()),
            Answer::No
        );
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
