//! The parts of a stack file that kinds and connections own. The file format knows no kind:
//! each part is a type with its place in the file (`Section::PATH`), given to the loader by the
//! engine's registry (`KindRules::sections`), decoded here with every error located in the
//! text, and looked up by its type (`StackSpec::section`, `StackSpec::entries`).

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A part of the stack file, at its place: `[kafka.brokers]` or `[[dynamodb.tables]]`.
pub trait Section: DeserializeOwned + JsonSchema + fmt::Debug + Send + Sync + 'static {
    /// Its keys' place in the file: `&["dynamodb", "tables"]`.
    const PATH: &'static [&'static str];
    /// `[[...]]`: a list of entries (`StackSpec::entries`); else one table (`StackSpec::section`).
    const LIST: bool = false;
    /// What it is, for the schema (editors show it).
    const DESCRIPTION: &'static str = "";
    /// Keys of other tools (Kubernetes' camelCase) and where a stack file has that setting.
    const ALIASES: &'static [(&'static str, &'static str)] = &[];

    /// A readable message and help for a value serde refused with `message` (its own words are
    /// for Rust programmers), when the section knows better ones.
    fn explain(_message: &str) -> Option<(String, String)> {
        None
    }
}

type Decoded = Arc<dyn Any + Send + Sync>;
type Root<'t> = toml::Spanned<toml::de::DeTable<'t>>;

/// A registered section: its place, how to decode it and its schema, without its type.
#[derive(Clone, Copy)]
pub struct SectionKind {
    pub path: &'static [&'static str],
    pub list: bool,
    pub aliases: &'static [(&'static str, &'static str)],
    key: fn() -> TypeId,
    decode: for<'t> fn(Root<'t>) -> Result<Option<Decoded>, toml::de::Error>,
    schema: fn(&mut SchemaGenerator) -> Schema,
    explain: fn(&str) -> Option<(String, String)>,
    description: &'static str,
}

impl fmt::Debug for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SectionKind({})", self.path.join("."))
    }
}

impl SectionKind {
    pub fn of<S: Section>() -> SectionKind {
        SectionKind {
            path: S::PATH,
            list: S::LIST,
            aliases: S::ALIASES,
            key: type_key::<S>,
            decode: decode_section::<S>,
            schema: section_schema::<S>,
            explain: S::explain,
            description: S::DESCRIPTION,
        }
    }

    /// The section's value in the stack text's tree, if the file has it.
    pub(super) fn decode(&self, root: Root<'_>) -> Result<Option<Decoded>, toml::de::Error> {
        (self.decode)(root)
    }

    pub(super) fn type_key(&self) -> TypeId {
        (self.key)()
    }

    pub(super) fn explain(&self, message: &str) -> Option<(String, String)> {
        (self.explain)(message)
    }

    /// The schema of its value, with its description.
    pub(super) fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        let mut schema = (self.schema)(generator);
        if !self.description.is_empty() {
            schema.insert("description".to_string(), self.description.into());
        }
        schema
    }

    /// `[a.b]` or `[[a.b]]`, as the file writes it.
    pub fn header(&self) -> String {
        let path = self.path.join(".");
        if self.list {
            format!("[[{path}]]")
        } else {
            format!("[{path}]")
        }
    }
}

fn decode_section<S: Section>(root: Root<'_>) -> Result<Option<Decoded>, toml::de::Error> {
    let deserializer = toml::de::Deserializer::from(root);
    if S::LIST {
        let found = At::<Vec<S>>::new(S::PATH).deserialize(deserializer)?;
        Ok(found.map(|entries| Arc::new(entries) as Decoded))
    } else {
        let found = At::<S>::new(S::PATH).deserialize(deserializer)?;
        Ok(found.map(|table| Arc::new(table) as Decoded))
    }
}

fn section_schema<S: Section>(generator: &mut SchemaGenerator) -> Schema {
    if S::LIST {
        generator.subschema_for::<Vec<S>>()
    } else {
        generator.subschema_for::<S>()
    }
}

fn type_key<S: Section>() -> TypeId {
    if S::LIST {
        TypeId::of::<Vec<S>>()
    } else {
        TypeId::of::<S>()
    }
}

/// The sections a stack file held, by type, and the tables that hold them (`[sagemaker]`).
#[derive(Clone, Default)]
pub struct Sections {
    decoded: HashMap<TypeId, Decoded>,
    holders: BTreeSet<String>,
}

impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sections({} present)", self.decoded.len())
    }
}

impl Sections {
    pub(super) fn insert(&mut self, kind: &SectionKind, value: Decoded) {
        self.decoded.insert(kind.type_key(), value);
    }

    pub(super) fn holder_found(&mut self, path: &[&str]) {
        self.holders.insert(path.join("."));
    }

    /// Whether the file has the table at `path` that holds sections (`[sagemaker]` holds
    /// `[[sagemaker.endpoints]]`), even with nothing in it.
    pub fn has_table(&self, path: &[&str]) -> bool {
        self.holders.contains(&path.join("."))
    }

    /// `[a.b]`: the table, if the file has it.
    pub fn section<S: Section>(&self) -> Option<&S> {
        self.decoded.get(&TypeId::of::<S>())?.downcast_ref::<S>()
    }

    /// `[[a.b]]`: the entries, none if the file has none.
    pub fn entries<S: Section>(&self) -> &[S] {
        self.decoded
            .get(&TypeId::of::<Vec<S>>())
            .and_then(|value| value.downcast_ref::<Vec<S>>())
            .map_or(&[], Vec::as_slice)
    }
}

/// Deserializes the value at a path of nested tables (none when a table on the way lacks the
/// key), through the deserializer of the whole file, so an error's span points into its text.
struct At<T> {
    path: &'static [&'static str],
    wanted: PhantomData<fn() -> T>,
}

impl<T> Clone for At<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for At<T> {}

impl<T> At<T> {
    fn new(path: &'static [&'static str]) -> Self {
        At {
            path,
            wanted: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for At<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        match self.path.split_first() {
            None => T::deserialize(deserializer).map(Some),
            Some((key, rest)) => deserializer.deserialize_map(Find {
                key,
                then: At::<T>::new(rest),
            }),
        }
    }
}

struct Find<T> {
    key: &'static str,
    then: At<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Find<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key && found.is_none() {
                found = map.next_value_seed(self.then)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}
