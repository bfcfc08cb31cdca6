#!/usr/bin/node
// ajv 6 (Debian's node-ajv, draft-07) as an oracle for the gateway's schema
// engine, with the gateway's x-sg-* keywords registered.  For t/ajv_diff.t:
//
//   NODE_PATH=/usr/share/nodejs node t/lib/ajv_sg.js NAME < docs > verdicts
//   NODE_PATH=/usr/share/nodejs node t/lib/ajv_sg.js --each < lines > verdicts
//
// NAME is a built-in schema (schemas/NAME.json; "sg:common" is
// schemas/common.json, loaded for every schema, with its ISO 4217
// placeholder replaced as schemas/embed.sh does, from the list parsed as
// JSON: see loadCommon()).  Input: one JSON text per line (with --each,
// NAME<TAB>JSON text: many schemas, one node).  Output, one JSON line per
// input line:
//
//   {"valid":true,"canonical":TEXT}
//   {"valid":false,"paths":[PATH...],"errors":[[PATH,KEYWORD]...]}
//   {"badjson":REASON}
//
// PATH is written as sg_json_path() writes it ("customer.contacts[1]",
// "<offset 18>" for a name that is not a short identifier, "" for the root);
// for "required" it is the missing member's path.  paths is the set of
// failing locations (ajv runs with allErrors, see t/ajv_diff.t for why),
// without "if", whose failure is its "then"'s errors, already listed.
//
// Number spellings: ajv sees parsed numbers, so 10000 and 10000.0 look the
// same to it.  This file therefore parses each line itself (a small strict
// parser below) and keeps every number's literal text by JSON pointer;
// x-sg-integer-literal looks that text up for the number it is given.  ajv
// then validates the parsed value, nothing else depends on the spelling.
//
// TEXT is the document in RFC 8785 form (ECMAScript's JSON.stringify, names
// sorted by UTF-16 code units) with the strings x-sg-lowercase applied to
// lowered (ASCII only); it is meaningless when a number would change value
// (the driver then writes "-").
//
// The other extensions: x-sg-luhn checks strings of digits; x-sg-lowercase
// passes (it is a normalization, applied after validation, and only noted
// here), x-sg-message (a reason's wording) and x-sg-discriminator (its branch
// selection only picks which error to name: plain oneOf semantics decide
// acceptance) do not change what validates, so they are no-ops, with their
// values' types still checked.

'use strict';

const fs = require('fs');
const path = require('path');

let Ajv;
try {
    Ajv = require('ajv');
} catch (e) {
    process.stderr.write('ajv_sg.js: cannot load ajv (apt-get install '
        + 'node-ajv; with a node not from Debian, set '
        + 'NODE_PATH=/usr/share/nodejs)\n');
    process.exit(2);
}

const SCHEMAS = path.join(__dirname, '..', '..', 'schemas');


// --------------------------------------------------- the document parser

// The literal spellings of the document being validated: pointer -> text.
let spellings = new Map();
// The strings x-sg-lowercase met while validating it: pointers.
let lowered = new Set();

function parse(text) {
    const numbers = new Map();
    const keys = new Map();         // pointer -> char index of the name's '"'
    let i = 0;

    function fail(why) {
        throw new SyntaxError(why + ' at ' + i);
    }

    function ws() {
        while (i < text.length && ' \t\r\n'.includes(text[i])) {
            i++;
        }
    }

    function string() {
        const end = /"(?:[^"\\\u0000-\u001f]|\\.)*"/y;
        end.lastIndex = i;
        const m = end.exec(text);
        if (m === null) {
            fail('bad string');
        }
        i = end.lastIndex;
        return JSON.parse(m[0]);
    }

    function value(ptr, depth) {
        if (depth > 32) {
            fail('too deep');
        }
        ws();
        const c = text[i];

        if (c === '{') {
            const obj = {};
            const seen = new Set();
            i++;
            ws();
            if (text[i] === '}') {
                i++;
                return obj;
            }
            for (;;) {
                ws();
                const at = i;
                if (text[i] !== '"') {
                    fail('expected a name');
                }
                const name = string();
                if (seen.has(name)) {
                    fail('duplicate name');
                }
                seen.add(name);
                const p = ptr + '/' + name.replace(/~/g, '~0')
                                          .replace(/\//g, '~1');
                keys.set(p, at);
                ws();
                if (text[i++] !== ':') {
                    fail('expected :');
                }
                Object.defineProperty(obj, name, {
                    value: value(p, depth + 1), enumerable: true,
                    writable: true, configurable: true
                });
                ws();
                if (text[i] === ',') {
                    i++;
                    continue;
                }
                if (text[i++] !== '}') {
                    fail('expected , or }');
                }
                return obj;
            }
        }

        if (c === '[') {
            const arr = [];
            i++;
            ws();
            if (text[i] === ']') {
                i++;
                return arr;
            }
            for (;;) {
                arr.push(value(ptr + '/' + arr.length, depth + 1));
                ws();
                if (text[i] === ',') {
                    i++;
                    continue;
                }
                if (text[i++] !== ']') {
                    fail('expected , or ]');
                }
                return arr;
            }
        }

        if (c === '"') {
            return string();
        }

        const num = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
        num.lastIndex = i;
        const m = num.exec(text);
        if (m !== null && m[0] !== '') {
            i = num.lastIndex;
            numbers.set(ptr, m[0]);
            return Number(m[0]);
        }

        for (const [word, v] of [['true', true], ['false', false],
                                 ['null', null]])
        {
            if (text.startsWith(word, i)) {
                i += word.length;
                return v;
            }
        }

        fail('unexpected character');
    }

    const doc = value('', 1);
    ws();
    if (i !== text.length) {
        fail('trailing text');
    }

    return { doc, numbers, keys, text };
}


// --------------------------------------------------- ajv and the keywords

function luhn(s) {
    if (!/^[0-9]+$/.test(s)) {
        return false;
    }
    let sum = 0;
    for (let k = 0; k < s.length; k++) {
        let d = s.charCodeAt(s.length - 1 - k) - 48;
        if (k % 2 === 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    return sum % 10 === 0;
}

function makeAjv(options) {
    const ajv = new Ajv(Object.assign({
        allErrors: true,
        jsonPointers: true,
        strictKeywords: true,       // an unknown keyword is an error, as in C
        format: false
    }, options || {}));

    ajv.addKeyword('x-sg-integer-literal', {
        type: 'number',
        metaSchema: { type: 'boolean' },
        validate: function (schema, data, parent, dataPath) {
            if (!schema) {
                return true;
            }
            const text = spellings.get(dataPath);
            if (text === undefined) {
                throw new Error('no spelling for the number at ' + dataPath);
            }
            return /^-?[0-9]+$/.test(text);
        }
    });

    ajv.addKeyword('x-sg-luhn', {
        type: 'string',
        metaSchema: { type: 'boolean' },
        validate: (schema, data) => !schema || luhn(data)
    });

    // a normalization: validation passes; where it applied is noted, to
    // write the normalized document once the whole document is valid
    ajv.addKeyword('x-sg-lowercase', {
        type: 'string',
        metaSchema: { type: 'boolean' },
        validate: function (schema, data, parent, dataPath) {
            if (schema) {
                lowered.add(dataPath);
            }
            return true;
        }
    });
    ajv.addKeyword('x-sg-message', {
        valid: true, metaSchema: { type: 'string' }
    });
    ajv.addKeyword('x-sg-discriminator', {
        valid: true, metaSchema: { type: 'string' }
    });

    ajv.addSchema(loadCommon(), 'sg:common');

    return ajv;
}

// ISO 4217 codes, as schemas/embed.sh reads them, but parsed as JSON: the
// list's own structure ("4217": [{"alpha_3": ...}]), not its layout
function isoCodes() {
    const file = process.env.SG_ISO_4217
        || '/usr/share/iso-codes/json/iso_4217.json';
    const list = JSON.parse(fs.readFileSync(file, 'utf8'))['4217'];
    return list.map((e) => e.alpha_3).sort();
}

// schemas/common.json as embedded: the "@ISO_4217@" placeholder replaced by
// the pattern of the codes in any ASCII case (schemas/embed.sh)
function loadCommon() {
    const text = fs.readFileSync(path.join(SCHEMAS, 'common.json'), 'utf8');
    const alt = isoCodes().map((c) => c.split('').map(
        (ch) => '[' + ch + ch.toLowerCase() + ']').join('')).join('|');
    const marks = text.split('"@ISO_4217@"').length - 1;
    if (marks !== 1) {
        throw new Error('common.json: ' + marks + ' ISO 4217 placeholders');
    }
    return JSON.parse(text.replace('"@ISO_4217@"',
        JSON.stringify('^(?:' + alt + ')$')));
}

function compile(ajv, name) {
    const file = path.join(SCHEMAS, name + '.json');
    return ajv.compile(JSON.parse(fs.readFileSync(file, 'utf8')));
}


// --------------------------------------------------- verdicts

function isIdent(s) {
    // sg_json_is_ident(): a short identifier with few digits
    const bytes = Buffer.byteLength(s);
    if (bytes === 0 || bytes > 40 || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) {
        return false;
    }
    return (s.match(/[0-9]/g) || []).length <= 3;
}

// A JSON pointer into parsed -> the member path as sg_json_path() writes it
function sgPath(parsed, ptr) {
    let out = '';
    let node = parsed.doc;
    let at = '';

    if (ptr === '') {
        return out;
    }

    for (const raw of ptr.slice(1).split('/')) {
        const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        at += '/' + raw;

        if (Array.isArray(node)) {
            out += '[' + seg + ']';
            node = node[Number(seg)];
            continue;
        }

        if (out !== '') {
            out += '.';
        }

        if (isIdent(seg) || !parsed.keys.has(at)) {
            out += seg;     // a missing member: a name from the schema
        } else {
            const ch = parsed.keys.get(at);
            out += '<offset '
                + Buffer.byteLength(parsed.text.slice(0, ch)) + '>';
        }
        node = (node !== null && typeof node === 'object')
            ? node[seg] : undefined;
    }

    return out;
}

// RFC 8785 by ECMAScript itself, with the x-sg-lowercase strings lowered
function canonical(v, ptr) {
    if (Array.isArray(v)) {
        return '[' + v.map((x, k) => canonical(x, ptr + '/' + k)).join(',')
            + ']';
    }

    if (v !== null && typeof v === 'object') {
        return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':'
            + canonical(v[k], ptr + '/' + k.replace(/~/g, '~0')
                                            .replace(/\//g, '~1'))).join(',')
            + '}';
    }

    if (typeof v === 'string' && lowered.has(ptr)) {
        v = v.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    }

    return JSON.stringify(v);
}

function verdict(validate, line) {
    let parsed;

    try {
        parsed = parse(line);
    } catch (e) {
        return { badjson: e.message };
    }

    spellings = parsed.numbers;
    lowered = new Set();

    if (validate(parsed.doc)) {
        return { valid: true, canonical: canonical(parsed.doc, '') };
    }

    const paths = new Set();
    const errors = [];

    for (const e of validate.errors) {
        let ptr = e.dataPath;

        if (e.keyword === 'if') {
            continue;
        }
        if (e.keyword === 'required') {
            ptr += '/' + e.params.missingProperty.replace(/~/g, '~0')
                                                 .replace(/\//g, '~1');
        }

        const p = sgPath(parsed, ptr);
        paths.add(p);
        errors.push([p, e.keyword]);
    }

    return { valid: false, paths: [...paths], errors };
}


module.exports = { makeAjv, compile, parse, verdict, sgPath, luhn, isoCodes,
    SCHEMAS };


// NAME: every line a document for that schema; --each: every line
// "NAME<TAB>document", each schema compiled once (one node for many
// schemas)
if (require.main === module) {
    const name = process.argv[2];
    if (!name) {
        process.stderr.write('usage: ajv_sg.js NAME < docs\n'
            + '       ajv_sg.js --each < NAME<TAB>doc lines\n');
        process.exit(2);
    }

    const ajv = makeAjv();
    const compiled = new Map();
    const validator = (n) => {
        if (!compiled.has(n)) {
            compiled.set(n, compile(ajv, n));
        }
        return compiled.get(n);
    };

    const lines = fs.readFileSync(0, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') {
        lines.pop();
    }

    const out = lines.map((l) => {
        if (name !== '--each') {
            return JSON.stringify(verdict(validator(name), l));
        }
        const tab = l.indexOf('\t');
        return JSON.stringify(verdict(validator(l.slice(0, tab)),
                                      l.slice(tab + 1)));
    });
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}
