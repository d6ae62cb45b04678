//! Placeholders of a template (`pipectl init`) still in a stack file: a value the user must fill
//! in is written `<<WHAT>>` (`"subnet-<<SUBNET_ID_1>>"`), a form no AWS id, name or PromQL
//! expression has. `validate` warns about them; plan and apply refuse a stack that holds one, so
//! an example subnet or account never reaches AWS.

use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;

/// Every string value of the text that holds a placeholder, located, with its field.
pub fn find(text: &str) -> Vec<Diagnostic> {
    let (root, _) = DeTable::parse_recoverable(text);
    let mut found = vec![];
    for (key, value) in root.get_ref().iter() {
        walk(value, key.get_ref(), &mut found);
    }
    found
}

fn walk(value: &toml::Spanned<DeValue<'_>>, field: &str, found: &mut Vec<Diagnostic>) {
    match value.get_ref() {
        DeValue::String(text) => {
            if let Some(placeholder) = placeholder_in(text) {
                found.push(Diagnostic::new(
                    value.span(),
                    field,
                    format!("{field} still holds the template's placeholder {placeholder}"),
                    "replace it with your own value (the comment above it says which); plan and apply refuse the stack until then",
                ));
            }
        }
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, &format!("{field}[{index}]"), found);
            }
        }
        DeValue::Table(table) => {
            for (key, inner) in table.iter() {
                walk(inner, &format!("{field}.{}", key.get_ref()), found);
            }
        }
        _ => {}
    }
}

/// The first `<<WHAT>>` in a value.
fn placeholder_in(text: &str) -> Option<&str> {
    let start = text.find("<<")?;
    let end = text[start..].find(">>")? + start + 2;
    let inner = &text[start + 2..end - 2];
    let looks_like_one = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    looks_like_one.then(|| &text[start..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_found_where_they_are_and_nothing_else_is() {
        let text = "[stack]\nname = \"s\"\n\n[[lambda.functions]]\nname = \"f\"\n\n[lambda.functions.kafka_trigger]\nvpc_subnets = [\"subnet-0abc\", \"subnet-<<SUBNET_ID_2>>\"]\n\n[[alerts]]\nname = \"a\"\nexpr = \"x << 2 > 1 and y >> 3\"\n";
        let found = super::find(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].field,
            "lambda.functions[0].kafka_trigger.vpc_subnets[1]"
        );
        assert!(found[0].message.contains("<<SUBNET_ID_2>>"));
        assert_eq!(&text[found[0].span.clone()], "\"subnet-<<SUBNET_ID_2>>\"");
    }
}
