// ShiftGELU, form "shift" (spec: gelu.gelu_shift_core), LANES lanes, II = 1, latency 7:
//   y = min((((|x| * R) << k) + 2^9) >> 10, 2^13 - 1)       |a| on a 2^-10 grid (R per layer)
//   h = 2^10 + y + (y>>4) + (y>>5) + (y^2 >> 11) + (y^2 >> 14) 2^10 (1 + 1.09375 y' + 0.5625 y'^2)
//   q = h >> 10, g = h & 1023, m = 1024 - min((41g - 64) >> 6, (31g + 3168) >> 6, (24g + 8160) >> 6)
//   P = (m << 15) >> (q + 10)                                ~ 2^15 Phi(-|a|)
//   sigma = x >= 0 ? 2^15 - P : P;  out = x * sigma           (real scale S * 2^-15)
// No division: one multiplier by the per-layer reciprocal R = round(2^20 / I0), a squarer,
// shifts and adds, and the x * sigma product. A requant stage follows in the datapath.
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
    localparam int M_W = 12;                            // mantissa <= 1025
    localparam logic [Y_W-1:0] Y_MAX = '1;
    logic en;

    ivit_pipe_ctrl #(.LAT(LAT)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [IN_W-1:0] x, x0, x1, x2, x3, x4, x5;
        logic        [IN_W-1:0] ax;
        logic        [PR_W-1:0] prod;
        logic        [SH_W-1:0] ys;
        logic        [Y_W-1:0]  y, y2r;
        logic        [2*Y_W-1:0] sq;
        logic        [H_W-1:0]  h;
        logic        [5:0]      q;
        logic        [M_W-1:0]  mant;
        logic        [15:0]     sigma;

        assign x  = s_data[l*IN_W +: IN_W];
        assign ax = x[IN_W-1] ? IN_W'(-x) : IN_W'(x);   // |-2^(IN_W-1)| fits unsigned
        assign ys = (SH_W'(prod) << cfg_k) + SH_W'(512);

        // Mantissa of 2^(-g/1024): the corrected form with I0 = 1024 (b = -64, 3168, 8160).
        logic signed [19:0] sg, l0, l1, l2, lo01, low;
        assign sg   = 20'(h[9:0]);
        assign l0   = ((sg <<< 5) + (sg <<< 3) + sg - 20'sd64) >>> 6;
        assign l1   = ((sg <<< 5) - sg + 20'sd3168) >>> 6;
        assign l2   = ((sg <<< 4) + (sg <<< 3) + 20'sd8160) >>> 6;
        assign lo01 = l0 < l1 ? l0 : l1;
        assign low  = lo01 < l2 ? lo01 : l2;

        logic signed [OUT_W-1:0] xa, sa;
        assign xa = OUT_W'(x5);
        assign sa = OUT_W'($signed({1'b0, sigma}));

        logic [15:0] pm;                                // (m << 15) >> (q + 10) <= 2^14 + 16
        logic [6:0]  psh;
        assign psh = 7'(q) + 7'd10;
        assign pm  = psh >= 7'd27 ? 16'd0 : 16'((27'(mant) << 15) >> psh);

        always_ff @(posedge clk) begin
            if (en) begin
                // 1: |x| * R
                prod <= PR_W'(ax) * PR_W'(cfg_r);
                x0   <= x;
                // 2: y = min(round((|x| R << k) / 2^10), 2^13 - 1)
                y  <= (ys >> 10) > SH_W'(Y_MAX) ? Y_MAX : Y_W'(ys >> 10);
                x1 <= x0;
                // 3: the square
                sq  <= (2*Y_W)'(y) * (2*Y_W)'(y);
                y2r <= y;
                x2  <= x1;
                // 4: h
                h  <= H_W'(1024) + H_W'(y2r) + H_W'(y2r >> 4) + H_W'(y2r >> 5)
                    + H_W'(sq >> 11) + H_W'(sq >> 14);
                x3 <= x2;
                // 5: integer part and mantissa
                q    <= 6'(h >> 10);
                mant <= M_W'(20'sd1024 - low);
                x4   <= x3;
                // 6: P and sigma
                sigma <= x4[IN_W-1] ? pm : 16'(32768) - pm;
                x5    <= x4;
                // 7: x * sigma
                m_data[l*OUT_W +: OUT_W] <= xa * sa;
            end
        end
    end
endmodule
