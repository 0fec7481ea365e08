// One lane of ShiftExp (spec: shift.shift_exp), latency QB + 2 enabled stages.
// EXP_FORM = 1 (corrected, the default):
//   p = u + (u>>1) - (u>>4) + (u>>8) + (u>>10), clamped at -N*I0 (a clamped input gives 0);
//   q = (-p) // I0 by QB restoring steps, a = -(p + q*I0) in [0, I0);
//   v = I0 - min((41a + b0) >> 6, (31a + b1) >> 6, (24a + b2) >> 6),
//   b_j = ((C_j*I0 + 32) >> 6) + 32, C = (-6, 196, 508) (shift-and-add constants of I0);
//   out = v << (N - q).
// EXP_FORM = 0 (the paper's): p = u + (u>>1) - (u>>4); v = I0 - ceil(a/2); a clamped
//   input gives I0 << 0 (it stands for 2^-N).
// Requires N < 2^QB. SB_W bits of sideband travel with the value.
module ivit_shiftexp_lane #(
    parameter int IN_W     = 24,
    parameter int I0_W     = 12,
    parameter int QB       = 5,
    parameter int OUT_W    = 40,
    parameter int SB_W     = 1,
    parameter int EXP_FORM = 1
) (
    input  logic                   clk,
    input  logic                   en,
    input  logic        [I0_W-1:0] i0,
    input  logic        [QB-1:0]   n,
    input  logic signed [IN_W-1:0] u,      // u <= 0
    input  logic        [SB_W-1:0] sb_in,
    output logic        [OUT_W-1:0] e,
    output logic        [SB_W-1:0] sb_out
);
    localparam int A_W = I0_W + QB;            // holds -p after the clamp (<= N*I0)
    localparam int L_W = I0_W + 8;             // signed line values (a < I0, b_j < 8*I0)
    logic signed [IN_W+1:0] p;
    logic        [A_W-1:0]  lim;
    logic        [A_W-1:0]  a   [QB+1];
    logic        [QB-1:0]   q   [QB+1];
    logic        [SB_W-1:0] sb  [QB+1];
    logic                   zc  [QB+1];        // clamped (corrected form: the result is 0)

    if (EXP_FORM != 0) begin : g_p_corr
        assign p = (IN_W+2)'(u) + (IN_W+2)'(u >>> 1) - (IN_W+2)'(u >>> 4)
                 + (IN_W+2)'(u >>> 8) + (IN_W+2)'(u >>> 10);
    end else begin : g_p_paper
        assign p = (IN_W+2)'(u) + (IN_W+2)'(u >>> 1) - (IN_W+2)'(u >>> 4);
    end
    localparam int C_W = IN_W + 2 > A_W ? IN_W + 2 : A_W;
    logic        [C_W-1:0]  np;                  // -p >= 0 (u <= 0), compared at C_W bits
    assign lim = A_W'(n) * A_W'(i0);
    assign np  = C_W'(-p);

    // Stage 0: clamp and negate.
    always_ff @(posedge clk) begin
        if (en) begin
            if (np >= C_W'(lim)) a[0] <= lim;
            else                 a[0] <= A_W'(np);
            zc[0] <= EXP_FORM != 0 && np >= C_W'(lim);
            q[0]  <= '0;
            sb[0] <= sb_in;
        end
    end

    // Stages 1..QB: one quotient bit each, most significant first.
    for (genvar s = 0; s < QB; s++) begin : g_div
        localparam int B = QB - 1 - s;
        logic [A_W-1:0] d;
        assign d = A_W'(i0) << B;
        always_ff @(posedge clk) begin
            if (en) begin
                if (a[s] >= d) begin
                    a[s+1] <= a[s] - d;
                    q[s+1] <= q[s] | QB'(1 << B);
                end else begin
                    a[s+1] <= a[s];
                    q[s+1] <= q[s];
                end
                zc[s+1] <= zc[s];
                sb[s+1] <= sb[s];
            end
        end
    end

    // Last stage: the mantissa v ~ I0 * 2^(-a/I0) and the shift by N - q.
    logic [I0_W:0] v;                          // one bit above I0: the corrected v(0) > I0
    if (EXP_FORM != 0) begin : g_mant_corr
        // min_j (s_j*a + b_j) >> 6 = (32a + min(9a + b0, b1 - a, b2 - 8a)) >> 6 (floor is
        // monotone), so only the small correction terms are compared.
        logic signed [L_W-1:0] ra, si0, b0, b1, b2, c0, c1, c2, c01, cmin, low;
        assign si0 = L_W'(i0);
        assign ra  = L_W'(a[QB]);
        // b_j = ((C_j*I0 + 32) >>> 6) + 32 with C_j*I0 as shifts and adds.
        assign b0 = ((-(si0 <<< 2) - (si0 <<< 1) + L_W'(32)) >>> 6) + L_W'(32);
        assign b1 = (((si0 <<< 7) + (si0 <<< 6) + (si0 <<< 2) + L_W'(32)) >>> 6) + L_W'(32);
        assign b2 = (((si0 <<< 9) - (si0 <<< 2) + L_W'(32)) >>> 6) + L_W'(32);
        assign c0   = (ra <<< 3) + ra + b0;
        assign c1   = b1 - ra;
        assign c2   = b2 - (ra <<< 3);
        assign c01  = c0 < c1 ? c0 : c1;
        assign cmin = c01 < c2 ? c01 : c2;
        assign low  = ((ra <<< 5) + cmin) >>> 6;
        assign v = (I0_W+1)'(si0 - low);
    end else begin : g_mant_paper
        assign v = (I0_W+1)'(i0) - (I0_W+1)'((a[QB] + A_W'(1)) >> 1);
    end
    always_ff @(posedge clk) begin
        if (en) begin
            e      <= zc[QB] ? '0 : OUT_W'(v) << (n - q[QB]);
            sb_out <= sb[QB];
        end
    end
endmodule
