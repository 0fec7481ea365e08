// Residual add, LANES lanes (spec: fixedpoint.residual_add):
//   out = sat_OUT_W(((a*m_a + 2^(e_a-1)) >> e_a) + ((b*m_b + 2^(e_b-1)) >> e_b))
// m_a, e_a per lane (per channel), m_b, e_b one pair for the stream. Latency 3, II = 1.
module ivit_residual_add #(
    parameter int LANES = 4,
    parameter int A_W   = 8,
    parameter int B_W   = 16,
    parameter int OUT_W = 16
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic signed [31:0]     cfg_m_b,
    input  logic        [5:0]      cfg_e_b,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*A_W-1:0]   s_a,
    input  logic [LANES*32-1:0]    s_m_a,
    input  logic [LANES*6-1:0]     s_e_a,
    input  logic [LANES*B_W-1:0]   s_b,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    localparam logic signed [63:0] HI = (64'sd1 <<< (OUT_W - 1)) - 64'sd1;
    localparam logic signed [63:0] LO = -(64'sd1 <<< (OUT_W - 1));
    logic en;

    ivit_pipe_ctrl #(.LAT(3)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [63:0] ya, yb, sum;
        ivit_requant_lane #(.IN_W(A_W), .M_W(32), .OFF_W(1)) lane_a (
            .clk, .en, .acc(s_a[l*A_W +: A_W]), .m(s_m_a[l*32 +: 32]), .e(s_e_a[l*6 +: 6]),
            .off(1'sb0), .y(ya)
        );
        ivit_requant_lane #(.IN_W(B_W), .M_W(32), .OFF_W(1)) lane_b (
            .clk, .en, .acc(s_b[l*B_W +: B_W]), .m(cfg_m_b), .e(cfg_e_b), .off(1'sb0), .y(yb)
        );
        assign sum = ya + yb;
        always_ff @(posedge clk) begin
            if (en) m_data[l*OUT_W +: OUT_W] <= OUT_W'(sum > HI ? HI : (sum < LO ? LO : sum));
        end
    end
endmodule
