//! Where in a TOML recipe a field path (`join[2].selector`) is, so a problem can name its
//! line. Best effort: a field that is missing gets the line of the nearest enclosing one.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
        }
    }

    fn child(self, key: &str) -> Option<Node<'a>> {
        match self {
            Node::Table(t) | Node::Item(Item::Table(t)) => t.get(key).map(Node::Item),
            Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)) => {
                t.get(key).map(Node::Value)
            }
            _ => None,
        }
    }

    fn index(self, i: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(i).map(Node::Value)
            }
            _ => None,
        }
    }
}

/// The line of the field at `path` in the TOML `text`, or of the nearest enclosing field.
pub fn toml_line(text: &str, path: &str) -> Option<usize> {
    let doc = ImDocument::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    'walk: for segment in path.split('.') {
        let (key, indices) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        let Some(next) = node.child(key) else {
            break;
        };
        node = next;
        best = node.span().or(best);
        for index in indices
            .split(['[', ']'])
            .filter_map(|s| s.parse::<usize>().ok())
        {
            let Some(next) = node.index(index) else {
                break 'walk;
            };
            node = next;
            best = node.span().or(best);
        }
    }
    best.map(|span| line_col(text, span.start).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n\
        [urls]\n\
        hosts = [\"a.com\",\n  \"b.com\"]\n\
        [[join]]\n\
        action = \"navigate\"\n\
        [[join]]\n\
        action = \"click\"\n\
        selector = \"\"\n\
        [detect]\n\
        denied = [{ selector = \"#x\" }]\n";

    #[test]
    fn paths_find_their_lines() {
        assert_eq!(toml_line(TEXT, "name"), Some(1));
        assert_eq!(toml_line(TEXT, "urls.hosts[1]"), Some(4));
        assert_eq!(toml_line(TEXT, "join[1].selector"), Some(9));
        assert_eq!(toml_line(TEXT, "detect.denied[0].selector"), Some(11));
        // Missing fields fall back to the nearest enclosing one.
        assert_eq!(
            toml_line(TEXT, "join[1].timeout_ms"),
            toml_line(TEXT, "join[1]")
        );
        assert_eq!(toml_line(TEXT, "nothing.here"), None);
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
