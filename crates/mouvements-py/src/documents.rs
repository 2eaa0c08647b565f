//! The library's JSON documents (the summary, the report) as the Python objects `json.loads`
//! would make of them, keys in the document's order, without the module importing `json`
//! (with `re` and `enum` behind it, two thirds of `import mouvements`' time).

use std::fmt;

use pyo3::BoundObject;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// `value` serialised as JSON, then read back as Python dicts, lists, strings, numbers,
/// booleans and `None`.
pub fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text =
        serde_json::to_string(value).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let mut reader = serde_json::Deserializer::from_str(&text);
    Object(py).deserialize(&mut reader).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Reads one JSON value into a Python object.
#[derive(Clone, Copy)]
struct Object<'py>(Python<'py>);

impl<'de, 'py> DeserializeSeed<'de> for Object<'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_any(self)
    }
}

/// A Python error as the reader's.
fn failed<E: de::Error>(error: &PyErr) -> E {
    E::custom(error)
}

/// A number, boolean or string as a Python object (a conversion that cannot fail).
fn scalar<'py>(
    py: Python<'py>,
    value: impl IntoPyObject<'py, Error = std::convert::Infallible>,
) -> Bound<'py, PyAny> {
    let Ok(object) = value.into_pyobject(py);
    object.into_bound().into_any()
}

impl<'de, 'py> Visitor<'de> for Object<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(scalar(self.0, value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(scalar(self.0, value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(scalar(self.0, value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(scalar(self.0, value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(scalar(self.0, value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(item) = items.next_element_seed(self)? {
            list.append(item).map_err(|e| failed(&e))?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(key) = fields.next_key::<String>()? {
            let value = fields.next_value_seed(self)?;
            dict.set_item(key, value).map_err(|e| failed(&e))?;
        }
        Ok(dict.into_any())
    }
}
