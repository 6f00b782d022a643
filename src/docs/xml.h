/*
 * xml.h — parsing the small XML files of an OFD package (OFD.xml,
 * Signatures.xml, Signature.xml, OFDEntries.xml) safely, on libxml2.
 *
 * Hostile-input rules: no network (XML_PARSE_NONET), no DTD loading, no
 * entity substitution — and a document with a DOCTYPE or an ENTITY
 * declaration is refused before libxml2 sees it, so neither external
 * entities nor entity expansion ("billion laughs") can happen. The input
 * must be UTF-8 or another ASCII-compatible encoding (it must start with '<'
 * after an optional UTF-8 BOM and white space), so that the declaration scan
 * cannot be bypassed with UTF-16. Size, element depth and element count are
 * capped.
 *
 * Elements are matched by local name, ignoring namespaces: producers use
 * "http://www.ofdspec.org/2016", "http://www.ofdspec.org" or none at all.
 */
#ifndef ECERT_DOCS_XML_H
#define ECERT_DOCS_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include <ecert/ecert.h>

#include "common/arena.h"

#define XML_MAX_BYTES (8u << 20)
#define XML_MAX_DEPTH 48
#define XML_MAX_ELEMENTS 200000u

/* Parses p[0..len). `what` names the file in error details.
 * ECERT_E_MALFORMED / ECERT_E_TOO_LONG on failure. Free with xml_free. */
ecert_status xml_parse(const uint8_t *p, size_t len, const char *what, xmlDocPtr *out);
void xml_free(xmlDocPtr doc);

/* The root element when its local name is `local` (NULL = any), else NULL. */
xmlNodePtr xml_root(xmlDocPtr doc, const char *local);
bool xml_is(const xmlNode *n, const char *local);
/* The first element child named `local`, or NULL. */
xmlNodePtr xml_child(const xmlNode *parent, const char *local);
/* The next element sibling named `local` (NULL = any), or NULL. */
xmlNodePtr xml_next(const xmlNode *n, const char *local);

/* The element's text (its text and CDATA children), white space trimmed at
 * both ends, copied into the arena; NULL when absent/empty or longer than
 * `max` bytes. */
char *xml_text(struct arena *a, const xmlNode *n, size_t max);
/* An attribute's value (by local name), trimmed, in the arena; NULL when
 * absent/empty or longer than `max`. */
char *xml_attr(struct arena *a, const xmlNode *n, const char *name, size_t max);

#endif
