/**
 * verifier-gen's own circom gadget library (MIT, part of this project; no circomlib code).
 * Written next to every generated circuit as `veriml_gadgets.circom`.
 *
 * Soundness notes:
 * - every division (requantization) constrains  t = q * 2^S + r  with r in [0, 2^S) by a bit
 *   decomposition AND q to a bounded window (by the clamp comparisons or an explicit range
 *   check), so q = floor(t / 2^S) is the only satisfying assignment;
 * - comparisons use an (N+1)-bit decomposition of d = a - b + 2^N, valid when |a - b| < 2^N,
 *   where N comes from the static value ranges of the integer graph (a few bits, never 254).
 */
export const GADGETS_CIRCOM = String.raw`pragma circom 2.1.0;
// SPDX-License-Identifier: MIT
// veriml verifier-gen gadgets

// in in [0, 2^n); outputs its bits (little-endian)
template RangeBits(n) {
    signal input in;
    signal output bits[n];
    var acc = 0;
    var e = 1;
    for (var i = 0; i < n; i++) {
        bits[i] <-- (in >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        acc += bits[i] * e;
        e = e + e;
    }
    acc === in;
}

// ge = (a - b >= 0), given |a - b| < 2^N
template GreaterEq(N) {
    signal input a;
    signal input b;
    signal output ge;
    component rb = RangeBits(N + 1);
    rb.in <== a - b + (1 << N);
    ge <== rb.bits[N];
}

// max(a, b), given |a - b| < 2^N
template Max2(N) {
    signal input a;
    signal input b;
    signal output out;
    component c = GreaterEq(N);
    c.a <== a;
    c.b <== b;
    out <== b + c.ge * (a - b);
}

// clamp(x, LO, HI). MODE bit 0: check the LO side, bit 1: check the HI side.
// N: |x - LO| < 2^N and |HI - x| < 2^N for every honest x.
template Clamp(N, LO, HI, MODE) {
    signal input in;
    signal output out;
    signal below;
    signal above;
    signal pb;
    signal pa;
    if (MODE & 1) {
        component cl = GreaterEq(N);
        cl.a <== in;
        cl.b <== LO;
        below <== 1 - cl.ge;
    } else {
        below <== 0;
    }
    if (MODE & 2) {
        component ch = GreaterEq(N);
        ch.a <== HI;
        ch.b <== in;
        above <== 1 - ch.ge;
    } else {
        above <== 0;
    }
    pb <== below * (LO - in);
    pa <== above * (HI - in);
    out <== in + pb + pa;
}

// q = floor((in * M + 2^(S-1)) / 2^S), remainder range-checked (S bits).
// K: in * M + 2^(S-1) + K * 2^S >= 0 for every honest input (witness hint only).
// The caller must bound q (Clamp comparisons or QRange below).
template DivPow2(M, S, K) {
    signal input in;
    signal output q;
    signal r;
    var t = in * M + (1 << (S - 1));
    q <-- ((t + K * (1 << S)) \ (1 << S)) - K;
    r <-- t - q * (1 << S);
    t === q * (1 << S) + r;
    component rr = RangeBits(S);
    rr.in <== r;
}

// q - QMIN in [0, 2^NQ)
template QRange(NQ, QMIN) {
    signal input in;
    component rb = RangeBits(NQ);
    rb.in <== in - QMIN;
}

// requantize: clamp(floor((in * M + 2^(S-1)) / 2^S), LO, HI)
// MODE as in Clamp; MODE = 0 means q never leaves [LO, HI]: q is range-checked instead.
template Requant(M, S, K, N, LO, HI, MODE, QMIN) {
    signal input in;
    signal output out;
    component d = DivPow2(M, S, K);
    d.in <== in;
    if (MODE == 0) {
        component qr = QRange(N, QMIN);
        qr.in <== d.q;
        out <== d.q;
    } else {
        component c = Clamp(N, LO, HI, MODE);
        c.in <== d.q;
        out <== c.out;
    }
}

// x >= 0 ? x : floor((x * M + 2^(S-1)) / 2^S); |x| < 2^N; q in [QMIN, QMIN + 2^NQ)
template LeakyRelu(M, S, K, N, NQ, QMIN) {
    signal input in;
    signal output out;
    component pos = GreaterEq(N);
    pos.a <== in;
    pos.b <== 0;
    component d = DivPow2(M, S, K);
    d.in <== in;
    component qr = QRange(NQ, QMIN);
    qr.in <== d.q;
    signal diff;
    diff <== pos.ge * (in - d.q);
    out <== d.q + diff;
}

// index of the first maximum of in[n]; |in[i] - in[j]| < 2^N for all i, j
template ArgMax(n, N) {
    signal input in[n];
    signal output out;
    signal sel[n];
    signal picked[n];
    var best = 0;
    for (var i = 1; i < n; i++) {
        if (in[i] > in[best]) { best = i; }
    }
    var s = 0;
    var idx = 0;
    var m = 0;
    for (var i = 0; i < n; i++) {
        sel[i] <-- (i == best) ? 1 : 0;
        sel[i] * (sel[i] - 1) === 0;
        s += sel[i];
        idx += i * sel[i];
        picked[i] <== sel[i] * in[i];
        m += picked[i];
    }
    s === 1;
    out <== idx;
    // m - in[i] - [argmax > i] >= 0   (ties resolve to the first index)
    component ge[n];
    for (var i = 0; i < n; i++) {
        var after = 0;
        for (var j = i + 1; j < n; j++) { after += sel[j]; }
        ge[i] = RangeBits(N);
        ge[i].in <== m - in[i] - after;
    }
}

// out = max(in[0..n)), given every in[i] within 2^N of the maximum.
// Soundness: out - in[i] in [0, 2^N) for every i, so out >= every input; the product of (out - in[i]) is 0,
// and a product of field elements is 0 only if a factor is, so out equals one of the inputs: the maximum.
template RowMax(n, N) {
    signal input in[n];
    signal output out;
    signal prodc[n];
    var m = in[0];
    for (var i = 1; i < n; i++) { if (in[i] > m) { m = in[i]; } }
    out <-- m;
    component ge[n];
    for (var i = 0; i < n; i++) {
        ge[i] = RangeBits(N);
        ge[i].in <== out - in[i];
    }
    prodc[0] <== out - in[0];
    for (var i = 1; i < n; i++) { prodc[i] <== prodc[i - 1] * (out - in[i]); }
    prodc[n - 1] === 0;
}

// q = floor((2 * OUT * e + s) / (2 * s)): e / s rounded to OUT steps, given 0 <= e <= s and 2 * s < 2^NR.
// Soundness: q * 2s + r = 2 * OUT * e + s with r and 2s - 1 - r in [0, 2^NR) (so 0 <= r < 2s) and q in
// [0, 2^NQ): every term is far below the field size, so this holds over the integers and q is the floor.
template SoftmaxDiv(NR, NQ, OUT) {
    signal input e;
    signal input s;
    signal output q;
    signal r;
    q <-- (2 * OUT * e + s) \ (2 * s);
    r <== 2 * OUT * e + s - 2 * q * s;
    component rl = RangeBits(NR);
    rl.in <== r;
    component rh = RangeBits(NR);
    rh.in <== 2 * s - 1 - r;
    component qr = RangeBits(NQ);
    qr.in <== q;
}

// floor(sqrt(v)) for v >= 0 (Newton's method on integers; witness computation only)
function veriml_isqrt(v) {
    if (v < 2) { return v; }
    var x = v;
    var y = (x + 1) \ 2;
    while (y < x) {
        x = y;
        y = (x + v \ x) \ 2;
    }
    return x;
}

// out = r = floor(sqrt(floor(4^R / d))), the largest r with r^2 d <= 4^R, for an input 1 <= d whose honest values keep
// (r + 1)^2 d - 4^R - 1 below 2^NH (the caller derives NH from the static range of d).
// Soundness: r in [0, 2^(R+1)) by its bits; 4^R - r^2 d in [0, 2^(2R+1)) and (r + 1)^2 d - 4^R - 1 in [0, 2^NH).
// Every term stays far below the field size (r < 2^(R+1), d < 2^(2R+2) when the checks hold), so over the
// integers r^2 d <= 4^R < (r + 1)^2 d: exactly one r satisfies both, the hint has no freedom.
// Cost: R + 1 + 2R + 1 + NH + 3 constraints per row.
template Rsqrt(R, NH) {
    signal input d;
    signal output out;
    signal rr2;
    signal lo;
    signal hi;
    out <-- veriml_isqrt((1 << (2 * R)) \ d);
    component rb = RangeBits(R + 1);
    rb.in <== out;
    rr2 <== out * out;
    lo <== rr2 * d;
    hi <== (2 * out + 1) * d;
    component lb = RangeBits(2 * R + 1);
    lb.in <== (1 << (2 * R)) - lo;
    component hb = RangeBits(NH);
    hb.in <== lo + hi - (1 << (2 * R)) - 1;
}
`;
