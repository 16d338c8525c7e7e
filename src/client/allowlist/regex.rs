//! Regex rules (feature `regex`): parsed once, compiled once, to a dense DFA
//! when it fits in [`DFA_SIZE_LIMIT`] (matching then takes no lock and
//! allocates nothing), to `regex-automata`'s meta engine otherwise.

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Hir, Look};

use super::url::NormalizedUrl;
use crate::error::RegexError;

/// Largest dense DFA built for a regex rule.
const DFA_SIZE_LIMIT: usize = 512 * 1024;

/// How a regex rule meets the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// The whole URL matches.
    Full,
    /// The pattern matches somewhere in the URL (a JavaScript
    /// `url.match(regex)`).
    Search,
    /// [`Search`](Self::Search) without case (Sentry 11 adds the `i` flag
    /// to every regex target).
    SearchIgnoreCase,
}

#[derive(Clone, Debug)]
enum Engine {
    Dfa(Box<dense::DFA<Vec<u32>>>),
    Meta(meta::Regex),
}

/// A compiled regex rule.
#[derive(Clone, Debug)]
pub(super) struct RegexRule {
    pattern: Box<str>,
    mode: Mode,
    engine: Engine,
}

impl RegexRule {
    pub(super) fn new(pattern: &str, mode: Mode) -> Result<Self, RegexError> {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(mode == Mode::SearchIgnoreCase)
            .build()
            .parse(pattern)
            .map_err(RegexError::new)?;
        // Anchoring through the syntax tree, not the pattern text: text such
        // as `a)|(?:b` cannot escape it.
        let hir = match mode {
            Mode::Full => Hir::concat(vec![hir, Hir::look(Look::End)]),
            Mode::Search | Mode::SearchIgnoreCase => hir,
        };
        let start_kind = match mode {
            Mode::Full => StartKind::Anchored,
            Mode::Search | Mode::SearchIgnoreCase => StartKind::Unanchored,
        };
        let dfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(DFA_SIZE_LIMIT)))
            .build_from_hir(&hir)
            .ok()
            .and_then(|nfa| {
                dense::Builder::new()
                    .configure(
                        dense::Config::new()
                            .start_kind(start_kind)
                            .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                            .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
                    )
                    .build_from_nfa(&nfa)
                    .ok()
            });
        let engine = match dfa {
            Some(dfa) => Engine::Dfa(Box::new(dfa)),
            None => Engine::Meta(
                meta::Builder::new()
                    .build_from_hir(&hir)
                    .map_err(RegexError::new)?,
            ),
        };
        Ok(Self {
            pattern: pattern.into(),
            mode,
            engine,
        })
    }

    pub(super) fn pattern(&self) -> &str {
        &self.pattern
    }

    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    fn anchored(&self) -> Anchored {
        match self.mode {
            Mode::Full => Anchored::Yes,
            Mode::Search | Mode::SearchIgnoreCase => Anchored::No,
        }
    }

    /// Whether the URL matches, run by the DFA over the URL's parts in
    /// place; `None` when this rule has no DFA (see
    /// [`meta_is_match`](Self::meta_is_match)).
    pub(super) fn dfa_is_match(&self, url: &NormalizedUrl<'_>) -> Option<bool> {
        match &self.engine {
            Engine::Dfa(dfa) => Some(dfa_is_match(dfa, self.anchored(), url)),
            Engine::Meta(_) => None,
        }
    }

    /// Whether the URL's text matches, for a rule without a DFA.
    pub(super) fn meta_is_match(&self, text: &[u8]) -> bool {
        match &self.engine {
            Engine::Meta(re) => re.is_match(Input::new(text).anchored(self.anchored())),
            Engine::Dfa(_) => false,
        }
    }
}

/// Runs the DFA until the first match (a match state is entered one byte
/// after the match ends), a dead state, or the end.
fn dfa_is_match(dfa: &dense::DFA<Vec<u32>>, anchored: Anchored, url: &NormalizedUrl<'_>) -> bool {
    let Ok(mut state) = dfa.start_state(&start::Config::new().anchored(anchored)) else {
        return false;
    };
    for (part, lower) in url.parts() {
        for &b in part {
            let b = if lower { b.to_ascii_lowercase() } else { b };
            state = dfa.next_state(state, b);
            if dfa.is_special_state(state) {
                if dfa.is_match_state(state) {
                    return true;
                }
                if dfa.is_dead_state(state) || dfa.is_quit_state(state) {
                    return false;
                }
            }
        }
    }
    dfa.is_match_state(dfa.next_eoi_state(state))
}
