#!/usr/bin/node
// An oracle for the core's RFC 8785 writer that shares no code with it:
// ECMAScript itself (JSON.parse, sorted keys, JSON.stringify) is RFC 8785's
// reference.  Writes JSONL cases for t/oracle.t:
//
//   node t/lib/jcs_oracle.js [DOCS] [SEED] > cases.jsonl
//
// Each line is {"n":N,"input":TEXT,"expected":CANONICAL} or, when a number
// in TEXT has an exact decimal value that its canonical form would change
// (CONTRACT step 5), {"n":N,"input":TEXT,"refuse":true}.  Inputs stay inside
// the contract: valid UTF-8, no lone surrogates, no duplicate member names,
// depth at most 32.

'use strict';

const DOCS = Number(process.argv[2] || 2500);
let state = Number(process.argv[3] || 8785) >>> 0;


// mulberry32: small, fixed-seed, the same on every machine
function rnd() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function int(n) {
    return Math.floor(rnd() * n);
}

function pick(a) {
    return a[int(a.length)];
}

function chance(p) {
    return rnd() < p;
}


// ------------------------------------------------------------- whitespace

function ws() {
    if (chance(0.7)) {
        return '';
    }
    return pick([' ', '\t', '\n', '\r\n', '  ', ' \n\t ']);
}


// ---------------------------------------------------------------- strings

function hex4(cp, upper) {
    const h = cp.toString(16).padStart(4, '0');
    return '\\u' + (upper ? h.toUpperCase() : h);
}

// one code point as it may be spelled inside a JSON string literal
function spell(cp) {
    const upper = chance(0.5);
    const short = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f',
                    0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

    if (cp < 0x20 || cp === 0x22 || cp === 0x5c) {
        if (short[cp] !== undefined && chance(0.6)) {
            return short[cp];
        }
        return hex4(cp, upper);
    }

    if (cp === 0x2f && chance(0.5)) {
        return chance(0.7) ? '\\/' : hex4(cp, upper);
    }

    if (chance(0.8)) {
        return String.fromCodePoint(cp);
    }

    if (cp < 0x10000) {
        return hex4(cp, upper);
    }

    const v = cp - 0x10000;
    return hex4(0xd800 + (v >> 10), upper) + hex4(0xdc00 + (v & 0x3ff), upper);
}

// code points from the ranges that stress escaping and UTF-16 ordering
function codePoint() {
    switch (int(12)) {
    case 0: return int(0x20);                               // controls
    case 1: return pick([0x22, 0x5c, 0x2f, 0x7f, 0x20]);
    case 2: return 0x80 + int(0x80);                        // Latin-1
    case 3: return 0x100 + int(0xd800 - 0x100);             // BMP below
                                                            // surrogates
    case 4: return 0xe000 + int(0x10000 - 0xe000);          // U+E000..FFFF
    case 5: return pick([0xe000, 0xfb33, 0xfeff, 0xfffd, 0xfffe, 0xffff,
                         0x20ac, 0x00f6, 0x0080]);
    case 6: return 0x1f600 + int(0x50);                     // emoji
    case 7: return 0x10000 + int(0x100000);                 // astral
    case 8: return pick([0x10000, 0x10ffff, 0x1d11e]);
    default: return 0x20 + int(0x5f);                       // printable ASCII
    }
}

// [text as spelled in the input, decoded value]
function jsonString(maxLen) {
    let text = '"';
    let value = '';
    const n = int(maxLen + 1);

    for (let i = 0; i < n; i++) {
        const cp = codePoint();
        text += spell(cp);
        value += String.fromCodePoint(cp);
    }

    return [text + '"', value];
}

// member names: pieces that sort differently by code point and by UTF-16
const NAME_PIECES = ['a', 'b', 'B', '1', '10', '2', '', '_', '\r', 'é',
    '\u0080', '\u00f6', '\u20ac', '\ufb33', '\ue000', '\uffff', '\ufffd',
    '\u{1f600}', '\u{1f4a9}', '\u{10000}', '\u{10ffff}', 'session_id',
    'amount', '\u0000', ' ', '"', '\\', '/'];

function memberName() {
    if (chance(0.3)) {
        return jsonString(6);
    }

    let value = '';
    const n = 1 + int(3);

    for (let i = 0; i < n; i++) {
        value += pick(NAME_PIECES);
    }

    let text = '"';
    for (const ch of value) {
        text += spell(ch.codePointAt(0));
    }

    return [text + '"', value];
}


// ---------------------------------------------------------------- numbers

// a finite double from across the range
function randomDouble() {
    let v;

    do {
        v = anyDouble();
    } while (!Number.isFinite(v));

    return v;
}

// a double from raw bits: any exponent, full 17-digit mantissas
const bits = new DataView(new ArrayBuffer(8));

function rawDouble(hi, lo) {
    bits.setUint32(0, hi >>> 0);
    bits.setUint32(4, lo >>> 0);
    return bits.getFloat64(0);
}

function anyDouble() {
    let p;

    switch (int(10)) {
    case 8:
        return rawDouble(int(2 ** 32), int(2 ** 32));
    case 9:
        // next to a power of two, where the rounding interval is lopsided
        p = 2 ** (int(2046) - 1022);
        bits.setFloat64(0, p);
        switch (int(3)) {
        case 0: return p;
        case 1: return rawDouble(bits.getUint32(0), 1);        // just above
        default: return rawDouble(bits.getUint32(0) - 1, -1);  // just below
        }
    case 0: return int(1000) * (chance(0.3) ? -1 : 1);
    case 1: return Math.floor(rnd() * 2 ** (1 + int(53)))
        * (chance(0.2) ? -1 : 1);
    case 2: return Number((rnd() * 1000).toFixed(int(8)));
    case 3: return (rnd() * 2 - 1) * 10 ** (int(640) - 320);
    case 4: return rnd() * 10 ** (int(60) - 30);
    case 5: return pick([0, 5e-324, 1e-323, 2.2250738585072014e-308,
                         2.225073858507201e-308, 1.7976931348623157e308,
                         9007199254740991, 9007199254740992, 2 ** 63, 1e21,
                         1e20, 999999999999999900000, 1e-7, 1e-6, 1.5e-7,
                         0.000001234, 123456789.125, 0.1, 0.2, 0.3,
                         0.30000000000000004, 1 / 3, 2 / 3, Math.PI,
                         -Math.E, 4.35, 0.5, 1e300, 1e-300, 2 ** -1074,
                         2 ** -1022, 2 ** 1023, 5e-7, 1e23, 8.41e21]);
    case 6: return 2 ** (int(2098) - 1074) * (chance(0.5) ? -1 : 1);
    default: return Number.MAX_SAFE_INTEGER - int(100);
    }
}

// sign, digits (no leading zeros) and exponent of a JSON number's text
function decimal(text) {
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (m === null) {
        throw new Error('not a JSON number: ' + text);
    }

    let digits = (m[2] + (m[3] || '')).replace(/^0+/, '');
    let exp = BigInt(m[4] || '0') - BigInt((m[3] || '').length);

    while (digits.endsWith('0')) {
        digits = digits.slice(0, -1);
        exp += 1n;
    }

    if (digits === '') {
        return { neg: false, digits: '', exp: 0n };
    }

    return { neg: m[1] === '-', digits, exp };
}

// ECMAScript's String(Number(x)) spells the same exact decimal value as x
function exact(text) {
    const v = Number(text);

    if (!Number.isFinite(v)) {
        return false;
    }

    const a = decimal(text);
    const b = decimal(String(v).replace(/e\+/, 'e'));

    return a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;
}

// the same exact value as v, spelled another way the grammar allows
function respell(v) {
    const d = decimal(String(v).replace(/e\+/, 'e'));
    let digits = d.digits;
    let exp = d.exp;
    const sign = d.neg ? '-' : '';

    if (digits === '') {
        return pick(['0', '-0', '0.0', '-0.0', '0e0', '0E+5', '-0e-3',
                     '0.000']);
    }

    if (chance(0.3)) {
        const z = int(4);            // trailing zeros: 4.50
        digits += '0'.repeat(z);
        exp -= BigInt(z);
    }

    const e = chance(0.5) ? 'e' : 'E';
    const k = BigInt(digits.length);

    switch (int(5)) {
    case 0:                          // d.ddd e n
        return sign + digits[0] + (digits.length > 1 ? '.' + digits.slice(1)
            : '') + e + expText(exp + k - 1n);
    case 1:                          // ddd e n
        return sign + digits + e + expText(exp);
    case 2:                          // 0.ddd e n
        return sign + '0.' + digits + e + expText(exp + k);
    case 3:                          // plain, when not absurdly long
        if (exp >= 0n && exp < 30n) {
            return sign + digits + '0'.repeat(Number(exp));
        }
        if (exp < 0n && -exp < 40n) {
            const p = Number(-exp);
            const padded = digits.padStart(p + 1, '0');
            return sign + padded.slice(0, padded.length - p) + '.'
                + padded.slice(padded.length - p);
        }
        return sign + digits + e + expText(exp);
    default:
        return String(v);
    }
}

function expText(x) {
    const s = x < 0n ? '-' : (chance(0.4) ? '+' : '');
    const abs = (x < 0n ? -x : x).toString();
    return s + '0'.repeat(chance(0.15) ? 1 + int(2) : 0) + abs;
}

// any literal of the grammar, which may or may not be exact
function randomLiteral() {
    const n = 1 + int(25);
    let digits = String(1 + int(9));

    for (let i = 1; i < n; i++) {
        digits += String(int(10));
    }

    let text = chance(0.3) ? '-' : '';
    const point = int(n + 1);

    if (point === 0 || point === n) {
        text += digits;
    } else {
        text += digits.slice(0, point) + '.' + digits.slice(point);
    }

    if (chance(0.4)) {
        text += pick(['e', 'E']) + pick(['', '+', '-']) + int(400);
    }

    return text;
}

const EDGE_NUMBERS = ['9007199254740993', '333333333.33333329', '1e400',
    '1e-400', '-1e400', '1E30', '4.50', '-0', '0.1', '100.5', '1e4',
    '123456789012345678901234567890', '1e23', '1.7976931348623157e308',
    '1.7976931348623159e308', '4.9406564584124654e-324', '5e-324',
    '2.4703282292062327e-324', '0.30000000000000004', '0.3000000000000000444',
    '1e21', '1e-7', '100000000000000000000', '1000000000000000000000',
    '0.000001', '0.0000001', '-9007199254740991', '18446744073709551616',
    '2e-3', '0.000000000000000000000000001', '1e-27'];

function number(risky) {
    if (risky && chance(0.3)) {
        return chance(0.5) ? randomLiteral() : pick(EDGE_NUMBERS);
    }
    return respell(randomDouble());
}


// -------------------------------------------------------------- documents

// [text, depth it reaches]; depth counts containers, the outermost is 1
function value(depth, maxDepth, risky) {
    const container = depth < maxDepth && chance(depth < 3 ? 0.45 : 0.25);

    if (container) {
        return chance(0.6) ? object(depth + 1, maxDepth, risky)
            : array(depth + 1, maxDepth, risky);
    }

    switch (int(6)) {
    case 0: return pick(['true', 'false', 'null']);
    case 1: case 2: return number(risky);
    default: return jsonString(12)[0];
    }
}

function object(depth, maxDepth, risky) {
    const n = int(7);
    const seen = new Set();
    const members = [];

    for (let i = 0; i < n; i++) {
        const [text, name] = memberName();
        if (seen.has(name)) {
            continue;                // RFC 8785 needs unique names
        }
        seen.add(name);
        members.push(ws() + text + ws() + ':' + ws()
            + value(depth, maxDepth, risky) + ws());
    }

    return '{' + (members.length ? members.join(',') : ws()) + '}';
}

function array(depth, maxDepth, risky) {
    const n = int(7);
    const elements = [];

    for (let i = 0; i < n; i++) {
        elements.push(ws() + value(depth, maxDepth, risky) + ws());
    }

    return '[' + (elements.length ? elements.join(',') : ws()) + ']';
}

// exactly 32 levels: the deepest the contract allows
function deep(risky) {
    let open = '';
    let close = '';

    for (let d = 1; d < 32; d++) {
        if (chance(0.5)) {
            open += '{' + memberName()[0] + ':';
            close = '}' + close;
        } else {
            open += '[' + (chance(0.5) ? number(risky) + ',' : '');
            close = ']' + close;
        }
    }

    return open + pick(['[]', '{}', '[1]', '{"x":null}']) + close;
}

function doc(i) {
    const risky = chance(0.25);

    if (i % 50 === 0) {
        return deep(risky);
    }

    if (i % 3 === 0) {               // number-focused documents
        const n = 1 + int(4);
        const items = [];
        for (let k = 0; k < n; k++) {
            items.push(number(chance(0.4)));
        }
        return ws() + '[' + items.join(',') + ']' + ws();
    }

    switch (int(20)) {
    case 0: return ws() + value(1, 1, risky) + ws();      // a bare scalar
    case 1: case 2: return ws() + array(1, 1 + int(8), risky) + ws();
    default: return ws() + object(1, 1 + int(8), risky) + ws();
    }
}


// ------------------------------------------------------ the reference form

function canonical(v) {
    if (v === null || typeof v !== 'object') {
        return JSON.stringify(v);    // -0 is "0", strings escaped per JCS
    }

    if (Array.isArray(v)) {
        return '[' + v.map(canonical).join(',') + ']';
    }

    // the default sort compares UTF-16 code units: RFC 8785 section 3.2.3
    return '{' + Object.keys(v).sort().map(
        (k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
}

function numbersOf(text) {
    // numbers outside strings: strip strings first, then match literals
    const bare = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    return bare.match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) || [];
}

const FIXED = [
    '{"numbers":[333333333.33333329,1E30,4.50,2e-3,1e-27]}',
    '{"numbers":[1E30,4.50,2e-3,0.000000000000000000000000001,-0]}',
    '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter'
        + ' Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning'
        + ' Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With'
        + ' Diaeresis"}',
    '{"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        + '"literals":[null,true,false]}',
    '[9007199254740993]', '[333333333.33333329]', '[1e400]', '[1e-400]',
    '[1E30]', '[4.50]', '[-0]', '{"\\ue000":1,"\\ud83d\\ude00":2}',
    '{"session_id":"3230"}',
];

let n = 0;

function emit(input) {
    const parsed = JSON.parse(input);     // throws on a generator bug
    const rec = { n: n++, input };

    if (numbersOf(input).every(exact)) {
        rec.expected = canonical(parsed);
    } else {
        rec.refuse = true;
    }

    // the gateway's session_id rule, whatever the schema (sg_body.c)
    const sid = parsed !== null && typeof parsed === 'object'
        && !Array.isArray(parsed) ? parsed.session_id : undefined;
    if (typeof sid === 'string'
        && (Buffer.byteLength(sid, 'utf8') > 128 || /[\u0000-\u001f\u007f]/.test(sid)))
    {
        rec.session_refuse = true;
    }

    process.stdout.write(JSON.stringify(rec) + '\n');
}

for (const input of FIXED) {
    emit(input);
}

for (let i = 0; i < DOCS; i++) {
    emit(doc(i));
}
