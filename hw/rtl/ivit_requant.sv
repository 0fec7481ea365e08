// Dyadic requantization stage, LANES lanes per beat (spec: fixedpoint.requant):
//   y = sat_OUT_W((acc*m + off + 2^(e-1)) >> e),  m, e, off per lane (per output channel).
// Latency 3, II = 1. USER_W bits of sideband travel with each beat.
module ivit_requant #(
    parameter int LANES  = 4,
    parameter int IN_W   = 32,
    parameter int M_W    = 32,
    parameter int OFF_W  = 32,
    parameter int OUT_W  = 8,
    parameter int USER_W = 1
) (
    input  logic                     clk,
    input  logic                     rst,
    input  logic                     s_valid,
    output logic                     s_ready,
    input  logic [LANES*IN_W-1:0]    s_acc,
    input  logic [LANES*M_W-1:0]     s_m,
    input  logic [LANES*6-1:0]       s_e,
    input  logic [LANES*OFF_W-1:0]   s_off,
    input  logic [USER_W-1:0]        s_user,
    output logic                     m_valid,
    input  logic                     m_ready,
    output logic [LANES*OUT_W-1:0]   m_data,
    output logic [USER_W-1:0]        m_user
);
    localparam logic signed [63:0] HI = (64'sd1 <<< (OUT_W - 1)) - 64'sd1;
    localparam logic signed [63:0] LO = -(64'sd1 <<< (OUT_W - 1));
    logic en;

    ivit_pipe_ctrl #(.LAT(3)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );
    ivit_delay #(.W(USER_W), .LAT(3)) user_dly (.clk, .en, .d(s_user), .q(m_user));

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [63:0] y;
        ivit_requant_lane #(.IN_W(IN_W), .M_W(M_W), .OFF_W(OFF_W)) lane (
            .clk, .en,
            .acc(s_acc[l*IN_W +: IN_W]), .m(s_m[l*M_W +: M_W]), .e(s_e[l*6 +: 6]),
            .off(s_off[l*OFF_W +: OFF_W]), .y
        );
        always_ff @(posedge clk) begin
            if (en) m_data[l*OUT_W +: OUT_W] <= OUT_W'(y > HI ? HI : (y < LO ? LO : y));
        end
    end
endmodule
