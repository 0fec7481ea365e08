// One lane of ShiftExp (spec: shift.shift_exp), latency QB + 3 enabled stages.
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
    localparam int A_W = I0_W + QB;            // holds -p after the clamp (<= N*I0 < 2^A_W)
    // -p >= -u, so an input below -2^A_W is clamped whatever its low bits: p is computed
    // from the low U_W bits only (u in [-2^A_W, 0] is exact there).
    localparam int U_W = IN_W < A_W + 1 ? IN_W : A_W + 1;
    localparam int P_W = A_W + 1;              // -p < 1.45 * 2^A_W, exact modulo 2^P_W
    logic        [A_W-1:0]  lim;
    logic        [A_W-1:0]  a   [QB+1];
    logic        [QB-1:0]   q   [QB+1];
    logic        [SB_W-1:0] sb  [QB+2];
    logic                   zc  [QB+2];        // clamped (corrected form: the result is 0)

    logic signed [U_W-1:0] ut;
    logic signed [P_W-1:0] us, np;
    logic                  ovf;
    assign ut = u[U_W-1:0];
    assign us = P_W'(ut);
    if (IN_W > U_W) begin : g_ovf
        assign ovf = u[IN_W-1:U_W-1] != {(IN_W-U_W+1){u[IN_W-1]}};
    end else begin : g_no_ovf
        assign ovf = 1'b0;
    end
    if (EXP_FORM != 0) begin : g_p_corr
        assign np = -us - (us >>> 1) + (us >>> 4) - (us >>> 8) - (us >>> 10);
    end else begin : g_p_paper
        assign np = -us - (us >>> 1) + (us >>> 4);
    end
    // N*I0 is the same in every lane (merged after flattening).
    assign lim = A_W'(n) * A_W'(i0);

    // Stage 0: clamp and negate.
    logic clamp;
    assign clamp = ovf || np >= P_W'(lim);
    always_ff @(posedge clk) begin
        if (en) begin
            a[0]  <= clamp ? lim : A_W'(np);
            zc[0] <= EXP_FORM != 0 && clamp;
            q[0]  <= '0;
            sb[0] <= sb_in;
        end
    end

    // Stages 1..QB: one quotient bit each, most significant first. Before the step for bit
    // B the remainder is below 2^(B+1) * I0, so the step works on I0_W + B + 1 bits.
    for (genvar s = 0; s < QB; s++) begin : g_div
        localparam int B = QB - 1 - s;
        localparam int W = I0_W + B + 1;
        logic [W:0] diff;
        assign diff = {1'b0, a[s][W-1:0]} - {1'b0, W'(i0) << B};
        always_ff @(posedge clk) begin
            if (en) begin
                a[s+1] <= A_W'(diff[W] ? a[s][W-1:0] : diff[W-1:0]);
                q[s+1] <= diff[W] ? q[s] : q[s] | QB'(1 << B);
                zc[s+1] <= zc[s];
                sb[s+1] <= sb[s];
            end
        end
    end

    // Last two stages: the mantissa v ~ I0 * 2^(-a/I0), then v << (N - q).
    localparam int V_W = I0_W + 8;             // signed: 64*I0 + 63 and the line terms
    logic [I0_W-1:0] af;
    logic [QB-1:0]   sh;
    logic [I0_W:0]   v;                        // one bit above I0: the corrected v(0) > I0
    assign af = a[QB][I0_W-1:0];               // the remainder is below I0
    if (EXP_FORM != 0) begin : g_mant_corr
        // The lines' minimum is L0 up to their crossing at 10a = b1 - b0, then L1 until
        // 7a = b2 - b1, then L2 (checked for every 12-bit I0 and a < I0). One line is then
        // evaluated: v = (B_j - 31a - {10a, 0, -7a}) >> 6 with B_j = 64*I0 + 63 - b_j, which
        // is I0 - ((s_j*a + b_j) >> 6) (s = 41, 31, 24).
        // The intercepts need I0_W + 10 bits (508*I0 before the shift), the lanes V_W.
        localparam int K_W = I0_W + 10;
        logic signed [K_W-1:0] si0, b0, b1, b2, d01, d12, bb0, bb1, bb2;
        logic signed [V_W-1:0] bsel, e1, msel;
        logic        [I0_W+4:0] t31, r31;          // 31a
        logic        [I0_W+3:0] t10, r10;          // 10a
        logic        [I0_W+2:0] t7, r7;            // 7a
        logic                   sel0, sel2;
        logic        [V_W:0]    vf;
        assign si0 = K_W'(i0);
        assign b0  = ((-(si0 <<< 2) - (si0 <<< 1) + K_W'(32)) >>> 6) + K_W'(32);
        assign b1  = (((si0 <<< 7) + (si0 <<< 6) + (si0 <<< 2) + K_W'(32)) >>> 6) + K_W'(32);
        assign b2  = (((si0 <<< 9) - (si0 <<< 2) + K_W'(32)) >>> 6) + K_W'(32);
        assign d01 = b1 - b0;
        assign d12 = b2 - b1;
        assign bb0 = (si0 <<< 6) + K_W'(63) - b0;
        assign bb1 = (si0 <<< 6) + K_W'(63) - b1;
        assign bb2 = (si0 <<< 6) + K_W'(63) - b2;
        assign t31 = ((I0_W+5)'(af) << 5) - (I0_W+5)'(af);
        assign t10 = ((I0_W+4)'(af) << 3) + ((I0_W+4)'(af) << 1);
        assign t7  = ((I0_W+3)'(af) << 3) - (I0_W+3)'(af);
        always_ff @(posedge clk) begin
            if (en) begin
                sel0 <= K_W'(t10) <= d01;
                sel2 <= K_W'(t7) > d12;
                r31  <= t31;
                r10  <= t10;
                r7   <= t7;
            end
        end
        // vf = bsel - 31a - {10a, 0, -7a}: two adders; the second takes ~10a + 1 through
        // the carry of an extra low bit (the mux folds into its LUTs).
        assign bsel = V_W'(sel0 ? bb0 : sel2 ? bb2 : bb1);
        assign e1   = bsel - V_W'(r31);
        assign msel = sel0 ? ~(V_W'(r10)) : sel2 ? V_W'(r7) : '0;
        assign vf   = {e1, 1'b1} + {msel, sel0};
        assign v    = vf[I0_W+7:7];
        logic unused_vf;
        assign unused_vf = ^{vf[V_W], vf[6:0]};
    end else begin : g_mant_paper
        logic [I0_W:0] vp;
        always_ff @(posedge clk) begin
            if (en) vp <= (I0_W+1)'(i0) - (I0_W+1)'((af + I0_W'(1)) >> 1);
        end
        assign v = vp;
    end
    always_ff @(posedge clk) begin
        if (en) begin
            sh        <= n - q[QB];
            zc[QB+1]  <= zc[QB];
            sb[QB+1]  <= sb[QB];
            e         <= zc[QB+1] ? '0 : OUT_W'(v) << sh;
            sb_out    <= sb[QB+1];
        end
    end
endmodule
