/*
 * fuzz_xml — the XML layer of the OFD reader (src/docs/xml.c) and OFD
 * location resolution (ofd_resolve), on arbitrary bytes.
 *
 * Properties:
 *   - xml_parse returns ECERT_OK, ECERT_E_MALFORMED or ECERT_E_TOO_LONG, and
 *     a document only on ECERT_OK;
 *   - an accepted document has no DTD, its element tree is at most
 *     XML_MAX_DEPTH deep, and input containing "<!DOCTYPE" or "<!ENTITY" is
 *     never accepted;
 *   - the accessors walk the whole tree: xml_text and xml_attr return NULL or
 *     a trimmed, NUL-terminated string no longer than their bound;
 *   - every attribute value and text goes through ofd_resolve, whose result
 *     (when accepted) has no leading '/', no empty, '.' or '..' segment.
 * A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "docs/ofd_verify.h"
#include "docs/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)
#define TEXT_MAX 512

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_xml: property violated: %s\n", what);
    abort();
}

static void check_trimmed(const char *s, size_t max, const char *what)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n == 0 || n > max)
        fail(what);
    const char *ws = " \t\r\n";
    if (strchr(ws, s[0]) || strchr(ws, s[n - 1]))
        fail(what);
}

static void check_resolved(const char *loc)
{
    char out[256];
    if (!loc || ofd_resolve("Doc_0/Signs", loc, out, sizeof out) != ECERT_OK)
        return;
    size_t n = strlen(out);
    if (n == 0 || n >= sizeof out || out[0] == '/' || out[n - 1] == '/' || strstr(out, "//") ||
        strchr(out, '\\'))
        fail("ofd_resolve: bad separators");
    const char *p = out;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
            fail("ofd_resolve: dot segment left");
        p += l;
        if (*p == '/')
            p++;
    }
}

static void walk(struct arena *a, xmlNodePtr root)
{
    /* Iterative pre-order walk with a depth count. */
    size_t depth = 1, max_depth = 0;
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            if (depth > max_depth)
                max_depth = depth;
            if (!xml_is(n, (const char *)n->name) || !xml_is(n, NULL))
                fail("xml_is disagrees with the node name");
            const char *t = xml_text(a, n, TEXT_MAX);
            check_trimmed(t, TEXT_MAX, "xml_text");
            check_resolved(t);
            for (xmlAttrPtr at = n->properties; at; at = at->next) {
                if (!at->name)
                    continue;
                const char *v = xml_attr(a, n, (const char *)at->name, TEXT_MAX);
                check_trimmed(v, TEXT_MAX, "xml_attr");
                check_resolved(v);
            }
            xmlNodePtr c = xml_child(n, NULL);
            if (c && c->parent != n)
                fail("xml_child returned a non-child");
            if (c && xml_next(c, NULL) && xml_next(c, NULL)->parent != n)
                fail("xml_next left the parent");
        }
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            depth++;
            continue;
        }
        while (n && !n->next && n != root) {
            n = n->parent;
            depth--;
        }
        if (!n || n == root)
            break;
        n = n->next;
    }
    if (max_depth > XML_MAX_DEPTH)
        fail("document deeper than XML_MAX_DEPTH accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    xmlDocPtr doc = (xmlDocPtr)1;
    ecert_status st = xml_parse(data, size, "fuzz", &doc);
    if (st != ECERT_OK && st != ECERT_E_MALFORMED && st != ECERT_E_TOO_LONG)
        fail("xml_parse: unexpected status");
    if (st != ECERT_OK) {
        if (doc)
            fail("failed parse returned a document");
        return 0;
    }
    if (!doc || doc->intSubset || doc->extSubset)
        fail("accepted document with a DTD");
    if (memmem(data, size, "<!DOCTYPE", 9) || memmem(data, size, "<!ENTITY", 8))
        fail("declaration accepted");
    struct arena a;
    arena_init(&a, 8u << 20);
    xmlNodePtr root = xml_root(doc, NULL);
    if (!root)
        fail("accepted document without a root element");
    walk(&a, root);
    arena_release(&a);
    xml_free(doc);
    return 0;
}
