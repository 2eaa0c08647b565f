//! The few XML documents of the API, written and read by hand (they are tiny and fixed).

/// Escapes text for an XML element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Answer to a multipart initiate.
pub fn initiate_result(bucket: &str, key: &str, upload_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId></InitiateMultipartUploadResult>",
        escape(bucket),
        escape(key),
        escape(upload_id)
    )
}

/// Answer to a multipart complete.
pub fn complete_result(key: &str, generation: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Key>{}</Key><ETag>\"{generation}\"</ETag></CompleteMultipartUploadResult>",
        escape(key)
    )
}

/// The part numbers of a `CompleteMultipartUpload` body, in document order.
pub fn part_numbers(body: &str) -> Vec<u32> {
    body.split("<PartNumber>")
        .skip(1)
        .filter_map(|s| s.split("</PartNumber>").next()?.trim().parse().ok())
        .collect()
}

/// A `ListBucketResult` page.
pub fn list_result(contents: &[(String, usize, u64)], prefixes: &[String], token: Option<&str>) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>");
    for (key, size, generation) in contents {
        xml.push_str(&format!(
            "<Contents><Key>{}</Key><Size>{size}</Size><LastModified>2025-06-30T00:00:00.000Z</LastModified><ETag>\"{generation}\"</ETag></Contents>",
            escape(key)
        ));
    }
    for prefix in prefixes {
        xml.push_str(&format!("<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>", escape(prefix)));
    }
    if let Some(token) = token {
        xml.push_str(&format!("<NextContinuationToken>{}</NextContinuationToken>", escape(token)));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_numbers_are_read_in_order() {
        let body = "<CompleteMultipartUpload><Part><ETag>\"a\"</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(part_numbers(body), vec![1, 2]);
    }
}
