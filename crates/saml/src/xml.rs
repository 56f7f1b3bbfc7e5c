//! Safe parsing and the small DOM helpers the rest of the crate shares. Owns the limits (size,
//! nodes, depth) and the refusal of DTDs; never resolves anything outside the document.

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::{SamlError, clip};

pub(crate) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Elements nested deeper than this are refused (a SAML response needs about ten levels).
pub(crate) const MAX_DEPTH: usize = 64;
/// More nodes than this are refused (a large response has a few hundred).
const MAX_NODES: u32 = 100_000;

/// Parses `text` with DTDs refused and the node count bounded, then bounds the depth.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, SamlError> {
    // A DOCTYPE is refused before the parser sees it, so the error is the same whatever
    // the parser would say about its content.
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(SamlError::Dtd);
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlError::Dtd,
        other => SamlError::Xml(clip(&other.to_string())),
    })?;
    check_depth(&doc)?;
    Ok(doc)
}

fn check_depth(doc: &Document<'_>) -> Result<(), SamlError> {
    // Iterative, so the check itself cannot overflow the stack.
    let mut stack = vec![(doc.root_element(), 1usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(SamlError::Xml(format!(
                "elements are nested deeper than {MAX_DEPTH} levels"
            )));
        }
        stack.extend(
            node.children()
                .filter(Node::is_element)
                .map(|c| (c, depth + 1)),
        );
    }
    Ok(())
}

/// True when `node` is the element `{ns}local`.
pub(crate) fn is(node: Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

/// The element children `{ns}local` of `node`.
pub(crate) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The single child `{ns}local` of `node`, if any; two or more is an error.
pub(crate) fn at_most_one<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut found = children(node, ns, local);
    let first = found.next();
    if found.next().is_some() {
        return Err(SamlError::Malformed(format!(
            "more than one {local} in {}",
            node.tag_name().name()
        )));
    }
    Ok(first)
}

/// The single child `{ns}local` of `node`; none or two is an error.
pub(crate) fn exactly_one<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> Result<Node<'a, 'i>, SamlError> {
    at_most_one(node, ns, local)?.ok_or_else(|| {
        SamlError::Malformed(format!("{local} missing in {}", node.tag_name().name()))
    })
}

/// The whole text content of `node`: every descendant text node, in document order. Comments
/// split text nodes but do not end the value, so `a<!---->b` is `ab`, which is also what the
/// (comment-free) canonical form that the signature covers says.
pub(crate) fn text_content(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

/// Text content of an element that must hold only text (no child elements).
pub(crate) fn simple_text(node: Node<'_, '_>) -> Result<String, SamlError> {
    if node.children().any(|c| c.is_element()) {
        return Err(SamlError::Malformed(format!(
            "{} must hold text only",
            node.tag_name().name()
        )));
    }
    Ok(text_content(node))
}

/// The prefix the element was written with (`None` for an unprefixed name). roxmltree keeps
/// only the expanded name, so it is read back from the source text.
pub(crate) fn element_prefix<'i>(node: Node<'_, 'i>) -> Option<&'i str> {
    let input = node.document().input_text();
    let start = node.range().start + 1; // past '<'
    let rest = input.get(start..)?;
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    let qname = &rest[..end];
    qname.split_once(':').map(|(p, _)| p)
}

/// The qualified name of an element as written (`prefix:local` or `local`).
pub(crate) fn element_qname(node: Node<'_, '_>) -> String {
    match element_prefix(node) {
        Some(p) => format!("{p}:{}", node.tag_name().name()),
        None => node.tag_name().name().to_owned(),
    }
}

/// The prefix an attribute was written with (`None` for an unprefixed attribute).
pub(crate) fn attribute_prefix<'i>(
    node: Node<'_, 'i>,
    attr: &roxmltree::Attribute<'_, 'i>,
) -> Option<&'i str> {
    let qname = node.document().input_text().get(attr.range_qname())?;
    qname.split_once(':').map(|(p, _)| p)
}

/// Strips XML whitespace from base64 text and decodes it.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, ()> {
    use base64::Engine as _;
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ())
}

/// Escapes text for element content or a double-quoted attribute value we write ourselves.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
    out
}

/// The names an unqualified attribute may have and still be taken for an element's ID.
/// SAML uses `ID`; XML-DSig tooling also resolves `Id` and `id`, so all three are treated as
/// IDs when refusing duplicates.
pub(crate) const ID_NAMES: [&str; 3] = ["ID", "Id", "id"];

/// The value of the element's ID attribute (the first of `ID`, `Id`, `id` present).
pub(crate) fn id_attribute<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    ID_NAMES.iter().find_map(|n| node.attribute(*n))
}
