// ShiftGELU, form "shift" (spec: gelu.gelu_shift_core), LANES lanes, II = 1, latency 7:
//   y = min((((|x| * R) << k) + 2^9) >> 10, 2^13 - 1)       |a| on a 2^-10 grid (R per layer)
//   h = 2^10 + y + (y>>4) + (y>>5) + (y^2 >> 11) + (y^2 >> 14) 2^10 (1 + 1.09375 y' + 0.5625 y'^2)
//   q = h >> 10, g = h & 1023, m = 1024 - min((41g - 64) >> 6, (31g + 3168) >> 6, (24g + 8160) >> 6)
//   P = (m << 15) >> (q + 10)                                ~ 2^15 Phi(-|a|)
//   sigma = x >= 0 ? 2^15 - P : P;  out = x * sigma           (real scale S * 2^-15)
// No division: one multiplier by the per-layer reciprocal R = round(2^20 / I0), a squarer,
// shifts and adds, and the product, formed as (x >= 0 ? |x| << 15 : 0) - |x| * P (an
// unsigned |x| * P, no sigma subtractor). A requant stage follows in the datapath.
module ivit_gelu_shift #(
    parameter int LANES = 4,
    parameter int IN_W  = 8,
    parameter int K_W   = 4,
    parameter int R_W   = 13,
    parameter int OUT_W = IN_W + 17
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [K_W-1:0]         cfg_k,
    input  logic [R_W-1:0]         cfg_r,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    localparam int LAT = 7;
    localparam int PR_W = IN_W + R_W;                   // |x| * R
    localparam int SH_W = PR_W + (1 << K_W);            // (|x| * R) << k
    localparam int Y_W = 13;                            // y <= 2^13 - 1
    localparam int H_W = 17;                            // h < 2^16 + 2^14
    localparam int M_W = 11;                            // mantissa <= 1025
    localparam logic [Y_W-1:0] Y_MAX = '1;
    logic en;

    ivit_pipe_ctrl #(.LAT(LAT)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [IN_W-1:0] x;
        logic        [IN_W-1:0] ax, a0, a1, a2, a3, a4, a5;  // |x|
        logic                   n0, n1, n2, n3, n4, n5;      // x < 0
        logic        [PR_W-1:0] prod;
        logic        [SH_W-10:0] z;                   // ((|x| * R) << k) >> 9
        logic        [13:0]     zz;
        logic                   zsat;
        logic        [Y_W-1:0]  y, y2r;
        logic        [2*Y_W-1:0] sq;
        logic        [H_W-1:0]  h;
        logic        [5:0]      q;
        logic        [M_W-1:0]  mant;
        logic        [14:0]     pm;                     // P <= 2^14 + 16

        assign x  = s_data[l*IN_W +: IN_W];
        assign ax = x[IN_W-1] ? IN_W'(-x) : IN_W'(x);   // |-2^(IN_W-1)| fits unsigned
        // y = min(((|x| R << k) + 2^9) >> 10, 2^13 - 1) = min(((z >> 9) + 1) >> 1, 2^13 - 1):
        // it saturates exactly when z >> 9 >= 2^14 - 1.
        assign z    = (SH_W-9)'((SH_W'(prod) << cfg_k) >> 9);
        assign zz   = z[13:0];
        assign zsat = (|z[SH_W-10:14]) || (&zz);

        // Mantissa of 2^(-g/1024): the corrected form with I0 = 1024 (b = -64, 3168, 8160),
        // m = 1024 - min_j((s_j g + b_j) >> 6) = (65599 - b_j - s_j g) >> 6. The lines'
        // minimum is line 0 for g <= 323, line 2 for g >= 714 (their crossings), else line 1;
        // 65599 - b_j - s_j g = 32 (K_j - g) + 31 - (s_j - 32) g with the -9g of line 0 as
        // ~(9g) + 1 (K = 2052 with the 1 folded, 1950, 1794). Checked for every g.
        logic [9:0]  g;
        logic        sel0, sel2;
        logic [13:0] g9;
        logic [17:0] ms2, mtot;
        (* keep *) logic [11:0] mk;
        assign g    = h[9:0];
        assign sel0 = g <= 10'd323;
        assign sel2 = g >= 10'd714;
        assign g9   = (14'(g) << 3) + 14'(g);
        assign mk   = (sel0 ? 12'd2052 : sel2 ? 12'd1794 : 12'd1950) - 12'(g);
        assign ms2  = sel0 ? ~(18'(g9)) : sel2 ? 18'(g) << 3 : 18'(g);
        assign mtot = {1'b0, mk, {5{~sel0}}} + ms2;
        logic unused_mtot;
        assign unused_mtot = ^{mtot[17], mtot[5:0]};

        // h = 2^10 + y + (y>>4) + (y>>5) + (y^2>>11) + (y^2>>14) as a chain of two-input
        // adders (keep: Yosys would build a full-adder tree, two LUTs a bit per level, where
        // a carry-chain adder takes one); y>>4 < 2^10, so 2^10 + (y>>4) is an OR.
        (* keep *) logic [H_W-1:0] hs1, hs2, hs3;
        assign hs1 = H_W'(y2r) + (H_W'(y2r >> 4) | H_W'(1024));
        assign hs2 = hs1 + H_W'(y2r >> 5);
        assign hs3 = hs2 + H_W'(sq >> 11);

        // P = (m << 15) >> (q + 10) = (m << 5) >> q: 0 from q = 16 on (m < 2^11).
        logic [15:0] m5;
        assign m5 = {mant, 5'b0};

        always_ff @(posedge clk) begin
            if (en) begin
                // 1: |x| * R
                prod <= PR_W'(ax) * PR_W'(cfg_r);
                a0   <= ax;
                n0   <= x[IN_W-1];
                // 2: y
                y  <= zsat ? Y_MAX : Y_W'((15'(zz) + 15'd1) >> 1);
                a1 <= a0;
                n1 <= n0;
                // 3: the square
                sq  <= (2*Y_W)'(y) * (2*Y_W)'(y);
                y2r <= y;
                a2  <= a1;
                n2  <= n1;
                // 4: h
                h  <= hs3 + H_W'(sq >> 14);
                a3 <= a2;
                n3 <= n2;
                // 5: integer part and mantissa
                q    <= 6'(h >> 10);
                mant <= M_W'(mtot[16:6]);
                a4   <= a3;
                n4   <= n3;
                // 6: P
                pm <= q[5:4] != 2'd0 ? 15'd0 : 15'(m5 >> q[3:0]);
                a5 <= a4;
                n5 <= n4;
                // 7: x * sigma = (x >= 0 ? |x| << 15 : 0) - |x| * P (sigma = 2^15 - P or P)
                m_data[l*OUT_W +: OUT_W] <= (n5 ? OUT_W'(0) : OUT_W'(a5) << 15)
                                            - OUT_W'(a5) * OUT_W'(pm);
            end
        end
    end
endmodule
