//! Word error rate, the usual measure of a transcript against a reference.

/// The word error rate of `hypothesis` against `reference`: the word-level Levenshtein
/// distance (substitutions + deletions + insertions) divided by the number of reference words.
///
/// Both texts are normalized first: lowercased, apostrophes removed (`don't` = `dont`), every
/// other character that is not a letter or digit treated as a space (`well-known` = `well
/// known`), and white space collapsed. Numbers are **not** normalized: `3` and `three` are
/// different words, so a hypothesis that spells out what the reference writes as digits (or the
/// other way round) is charged for it.
///
/// The result can exceed 1.0 when the hypothesis has many extra words. An empty reference
/// scores 0.0 against an empty hypothesis and 1.0 against anything else.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let reference = words(reference);
    let hypothesis = words(hypothesis);
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    levenshtein(&reference, &hypothesis) as f64 / reference.len() as f64
}

fn words(text: &str) -> Vec<String> {
    let normalized: String = text
        .chars()
        .filter(|c| !matches!(c, '\'' | '’' | 'ʼ'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase();
    normalized.split_whitespace().map(str::to_owned).collect()
}

/// Edit distance over words, in two rows of memory.
fn levenshtein(a: &[String], b: &[String]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, word_a) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, word_b) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(word_a != word_b);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::word_error_rate as wer;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identical_texts_score_zero_whatever_the_case_and_punctuation() {
        assert!(close(wer("Hello, world!", "hello world"), 0.0));
        assert!(close(wer("It's  a\ntest.", "its a test"), 0.0));
        assert!(close(wer("Ünïcode Straße", "ünïcode straße"), 0.0));
    }

    #[test]
    fn substitutions_deletions_and_insertions_each_count_one() {
        assert!(close(
            wer("the cat sat on the mat", "the cat sat on a mat"),
            1.0 / 6.0
        ));
        assert!(close(
            wer("the cat sat on the mat", "the cat sat on mat"),
            1.0 / 6.0
        ));
        assert!(close(wer("the cat sat", "the big cat sat"), 1.0 / 3.0));
        assert!(close(wer("a b c d", "b c d e"), 2.0 / 4.0));
    }

    #[test]
    fn it_can_exceed_one() {
        assert!(close(wer("yes", "no no no"), 3.0));
    }

    #[test]
    fn hyphens_split_words_and_numbers_are_not_normalized() {
        assert!(close(wer("well-known", "well known"), 0.0));
        assert!(close(wer("I have 3 cats", "I have three cats"), 0.25));
    }

    #[test]
    fn empty_texts() {
        assert!(close(wer("", ""), 0.0));
        assert!(close(wer(" ... ", ""), 0.0));
        assert!(close(wer("", "something"), 1.0));
        assert!(close(wer("two words", ""), 1.0));
    }
}
