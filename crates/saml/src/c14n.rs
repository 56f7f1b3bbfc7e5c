//! Exclusive XML Canonicalization 1.0 (<https://www.w3.org/TR/xml-exc-c14n/>), with and
//! without comments, over the subtree of one element, optionally minus one descendant subtree
//! (the enveloped Signature). Only what XML-DSig over SAML needs: the document subset is always
//! "an element and everything under it", so there are no nodes outside the apex to render.

use roxmltree::{Node, NodeId, NodeType};

use crate::xml::{attribute_prefix, element_prefix, element_qname};

/// How to canonicalize.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct C14nOptions {
    /// `#WithComments`: keep comment nodes.
    pub with_comments: bool,
    /// The InclusiveNamespaces PrefixList; `#default` names the default namespace.
    pub inclusive_prefixes: Vec<String>,
}

/// The exclusive canonical form of `apex` and its descendants, leaving out the subtree rooted at
/// `exclude` (if any).
pub(crate) fn canonicalize(
    apex: Node<'_, '_>,
    exclude: Option<NodeId>,
    opts: &C14nOptions,
) -> String {
    let inclusive: Vec<Option<&str>> = opts
        .inclusive_prefixes
        .iter()
        .map(|p| {
            if p == "#default" {
                None
            } else {
                Some(p.as_str())
            }
        })
        .collect();
    let mut out = String::new();
    let mut rendered = Vec::new();
    let ctx = Ctx {
        exclude,
        with_comments: opts.with_comments,
        inclusive: &inclusive,
    };
    element(apex, &ctx, &mut rendered, &mut out);
    out
}

struct Ctx<'o> {
    exclude: Option<NodeId>,
    with_comments: bool,
    inclusive: &'o [Option<&'o str>],
}

/// `rendered` is the stack of namespace declarations (prefix, URI) made by output ancestors;
/// the last entry for a prefix is the one in effect in the output.
fn element<'a>(
    node: Node<'a, 'a>,
    ctx: &Ctx<'a>,
    rendered: &mut Vec<(Option<&'a str>, &'a str)>,
    out: &mut String,
) {
    let mark = rendered.len();
    let qname = element_qname(node);
    out.push('<');
    out.push_str(&qname);

    // Namespace axis: the prefixes visibly utilized by this element (its own, its attributes')
    // plus the InclusiveNamespaces PrefixList, each rendered unless the output already has it.
    let mut utilized: Vec<Option<&str>> = vec![element_prefix(node)];
    for a in node.attributes() {
        if let Some(p) = attribute_prefix(node, &a)
            && p != "xml"
        {
            utilized.push(Some(p));
        }
    }
    utilized.extend(ctx.inclusive.iter().copied());
    utilized.sort_unstable();
    utilized.dedup();
    for prefix in utilized {
        let in_scope = node
            .namespaces()
            .find(|ns| ns.name() == prefix)
            .map(|ns| ns.uri());
        let in_effect = rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u);
        let uri = match (prefix, in_scope) {
            (Some(_), None) => continue, // a PrefixList entry not in scope here
            (Some(_), Some(uri)) => uri,
            // An absent default namespace is the empty one; `xmlns=""` is output only to undo
            // a non-empty default that the output has in effect.
            (None, uri) => uri.unwrap_or(""),
        };
        let effective = match prefix {
            None => Some(in_effect.unwrap_or("")),
            Some(_) => in_effect,
        };
        if effective == Some(uri) {
            continue;
        }
        match prefix {
            None => out.push_str(" xmlns=\""),
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
        }
        escape_attr(uri, out);
        out.push('"');
        rendered.push((prefix, uri));
    }

    // Attribute axis: by namespace URI (none first), then local name.
    let mut attrs: Vec<_> = node.attributes().collect();
    attrs.sort_by(|a, b| {
        (a.namespace().unwrap_or(""), a.name()).cmp(&(b.namespace().unwrap_or(""), b.name()))
    });
    for a in attrs {
        out.push(' ');
        if let Some(p) = attribute_prefix(node, &a) {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(a.name());
        out.push_str("=\"");
        escape_attr(a.value(), out);
        out.push('"');
    }
    out.push('>');

    for child in node.children() {
        match child.node_type() {
            NodeType::Element => {
                if Some(child.id()) != ctx.exclude {
                    element(child, ctx, rendered, out);
                }
            }
            NodeType::Text => escape_text(child.text().unwrap_or(""), out),
            NodeType::Comment => {
                if ctx.with_comments {
                    out.push_str("<!--");
                    out.push_str(child.text().unwrap_or(""));
                    out.push_str("-->");
                }
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.push_str("<?");
                    out.push_str(pi.target);
                    if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(' ');
                        out.push_str(value);
                    }
                    out.push_str("?>");
                }
            }
            NodeType::Root => {}
        }
    }

    out.push_str("</");
    out.push_str(&qname);
    out.push('>');
    rendered.truncate(mark);
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Canonicalizes the element of `xml` whose `ID` (or `Id`, `id`) attribute is `id`, or the
/// document element when `id` is `None`. Exposed for tests and diagnostics (to compare with
/// another implementation); validation uses the node-level function.
pub fn exclusive_c14n(
    xml: &str,
    id: Option<&str>,
    opts: &C14nOptions,
) -> Result<String, crate::SamlError> {
    let doc = crate::xml::parse(xml)?;
    let apex = match id {
        None => doc.root_element(),
        Some(id) => doc
            .descendants()
            .find(|n| n.is_element() && crate::xml::id_attribute(*n) == Some(id))
            .ok_or_else(|| crate::SamlError::Malformed(format!("no element has the ID {id:?}")))?,
    };
    Ok(canonicalize(apex, None, opts))
}
