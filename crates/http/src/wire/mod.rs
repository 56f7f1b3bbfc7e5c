//! The API's wire types: every JSON body a route takes or returns, as serde shapes with their
//! OpenAPI schema (`utoipa::ToSchema`), one file per area. Responses are built `From` core's
//! views and requests convert `into` core's inputs, so `core` keeps plain Rust types and the
//! contract lives here, where the OpenAPI document is generated from. A field's JSON must not
//! change without a visible diff of `docs/openapi.json`.

pub mod audit;
pub mod auth;
pub mod bots;
pub mod calendar;
pub mod certificates;
pub mod contract;
pub mod destinations;
pub mod document;
pub mod encryption;
pub mod errors;
pub mod events;
pub mod ids;
pub mod integrations;
pub mod intel;
pub mod jobs;
pub mod keys;
pub mod meetings;
pub mod openai;
pub mod org;
pub mod recordings;
pub mod requests;
pub mod retention;
pub mod sso;
pub mod transcripts;
pub mod trust;
pub mod webhooks;
pub mod widgets;

/// A body of one list, `{"<field>": [...]}`, built from a `Vec` of core's views.
macro_rules! list_of {
    ($(#[$attr:meta])* $name:ident { $field:ident: Vec<$item:ty> } from $view:ty) => {
        #[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
        $(#[$attr])*
        pub struct $name {
            pub $field: Vec<$item>,
        }

        impl From<Vec<$view>> for $name {
            fn from(views: Vec<$view>) -> Self {
                Self {
                    $field: views.into_iter().map(Into::into).collect(),
                }
            }
        }
    };
}
pub(crate) use list_of;

/// `Some(None)` for an explicit `null`, `None` (the default) for an absent field.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Raw bytes in a body (a recording): `{"type": "string", "format": "binary"}`.
#[derive(Debug, Clone, Copy)]
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// The property names of `T`'s schema, for tests that keep a schema mirror equal to the type it
/// describes.
#[cfg(test)]
pub(crate) fn schema_properties<T: utoipa::ToSchema>() -> std::collections::BTreeSet<String> {
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The keys of a JSON object.
#[cfg(test)]
pub(crate) fn keys(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
