/*
 * xml.c — safe parsing of OFD XML files on libxml2 (see xml.h).
 */
#include "docs/xml.h"

#include <pthread.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "common/error.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 reports errors through a global callback by default; the parser
 * options below already silence them per context, and this catches the
 * few places that still print (allocation failures during setup). */
static void xml_silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

/* xmlInitParser must run once before threads use libxml2 concurrently. */
static void xml_init(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, xml_silent);
}

/* Declarations are refused outright: OFD files never need a DTD, and
 * without one there is nothing to expand or fetch. */
static ecert_status precheck(const uint8_t *p, size_t len, const char *what)
{
    size_t i = 0;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i >= len || p[i] != '<')
        return err_set(ECERT_E_MALFORMED, "%s: not an XML document in an ASCII-compatible "
                                          "encoding", what);
    if (memchr(p, 0, len))
        return err_set(ECERT_E_MALFORMED, "%s: NUL byte in XML", what);
    static const char *const banned[] = {"<!DOCTYPE", "<!ENTITY", "<!doctype"};
    for (size_t b = 0; b < sizeof banned / sizeof banned[0]; b++)
        if (memmem(p, len, banned[b], strlen(banned[b])))
            return err_set(ECERT_E_MALFORMED, "%s: DTD or entity declaration refused", what);
    return ECERT_OK;
}

/* Depth and element count of the tree, iteratively (no recursion on
 * attacker-controlled depth). */
static ecert_status check_shape(xmlNodePtr root, const char *what)
{
    size_t depth = 1, count = 0;
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            if (++count > XML_MAX_ELEMENTS)
                return err_set(ECERT_E_TOO_LONG, "%s: over %u elements", what,
                               XML_MAX_ELEMENTS);
            if (depth > XML_MAX_DEPTH)
                return err_set(ECERT_E_TOO_LONG, "%s: elements nested over %d deep", what,
                               XML_MAX_DEPTH);
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
    return ECERT_OK;
}

ecert_status xml_parse(const uint8_t *p, size_t len, const char *what, xmlDocPtr *out)
{
    *out = NULL;
    if (len > XML_MAX_BYTES)
        return err_set(ECERT_E_TOO_LONG, "%s: %zu bytes, limit %u", what, len, XML_MAX_BYTES);
    ecert_status st = precheck(p, len, what);
    if (st)
        return st;
    pthread_once(&xml_once, xml_init);
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (!ctx)
        return err_set(ECERT_E_NOMEM, "out of memory");
    /* No NOENT (no entity substitution), no DTDLOAD/DTDATTR, no network, no
     * XInclude; NOERROR/NOWARNING keep libxml2 off stderr. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, (const char *)p, (int)len, NULL, NULL, opts);
    bool wf = ctx->wellFormed;
    xmlFreeParserCtxt(ctx);
    if (!doc || !wf) {
        xmlFreeDoc(doc);
        return err_set(ECERT_E_MALFORMED, "%s: not well-formed XML", what);
    }
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return err_set(ECERT_E_MALFORMED, "%s: DTD refused", what);
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root) {
        xmlFreeDoc(doc);
        return err_set(ECERT_E_MALFORMED, "%s: no root element", what);
    }
    if ((st = check_shape(root, what))) {
        xmlFreeDoc(doc);
        return st;
    }
    *out = doc;
    return ECERT_OK;
}

void xml_free(xmlDocPtr doc)
{
    if (doc)
        xmlFreeDoc(doc);
}

bool xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name &&
           (!local || strcmp((const char *)n->name, local) == 0);
}

xmlNodePtr xml_root(xmlDocPtr doc, const char *local)
{
    xmlNodePtr r = doc ? xmlDocGetRootElement(doc) : NULL;
    return xml_is(r, local) ? r : NULL;
}

xmlNodePtr xml_child(const xmlNode *parent, const char *local)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (xml_is(c, local))
            return c;
    return NULL;
}

xmlNodePtr xml_next(const xmlNode *n, const char *local)
{
    if (!n)
        return NULL;
    for (xmlNodePtr c = n->next; c; c = c->next)
        if (xml_is(c, local))
            return c;
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trimmed_copy(struct arena *a, const char *s, size_t n, size_t max)
{
    while (n && is_space(s[0]))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0 || n > max)
        return NULL;
    return arena_strndup(a, s, n);
}

char *xml_text(struct arena *a, const xmlNode *n, size_t max)
{
    if (!n)
        return NULL;
    /* Text children only (not descendants): an element's own value. With
     * one text child (the usual case) no concatenation is needed. */
    size_t total = 0, parts = 0;
    const xmlNode *only = NULL;
    for (const xmlNode *c = n->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            size_t l = strlen((const char *)c->content);
            if (l > max || total > max)
                return NULL;
            total += l;
            parts++;
            only = c;
        }
    if (parts == 0 || total > max * 2)
        return NULL;
    if (parts == 1)
        return trimmed_copy(a, (const char *)only->content, total, max);
    char *joined = arena_alloc(a, total + 1);
    if (!joined)
        return NULL;
    size_t o = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            size_t l = strlen((const char *)c->content);
            memcpy(joined + o, c->content, l);
            o += l;
        }
    return trimmed_copy(a, joined, o, max);
}

char *xml_attr(struct arena *a, const xmlNode *n, const char *name, size_t max)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (const xmlAttr *at = n->properties; at; at = at->next) {
        if (!at->name || strcmp((const char *)at->name, name) != 0)
            continue;
        /* Attribute values are a single text child once parsed without
         * entity nodes (no DTD means no entity references survive). */
        const xmlNode *t = at->children;
        if (!t || t->type != XML_TEXT_NODE || !t->content || t->next)
            return NULL;
        const char *v = (const char *)t->content;
        return trimmed_copy(a, v, strnlen(v, max + 1), max);
    }
    return NULL;
}
