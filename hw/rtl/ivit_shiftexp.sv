// ShiftExp stream unit, LANES lanes per beat: e = I0 * 2^N * exp(u / I0) in integers
// (spec: shift.shift_exp). Constants i0, n are quasi-static configuration inputs.
// EXP_FORM = 1: the corrected ShiftExp (default); 0: the paper's. Latency QB + 3, II = 1.
module ivit_shiftexp #(
    parameter int LANES = 4,
    parameter int IN_W  = 24,
    parameter int I0_W  = 12,
    parameter int QB    = 5,
    parameter int OUT_W = 40,
    parameter int EXP_FORM = 1
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [I0_W-1:0]        cfg_i0,
    input  logic [QB-1:0]          cfg_n,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    logic en;

    ivit_pipe_ctrl #(.LAT(QB + 3)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic unused_sb;
        ivit_shiftexp_lane #(.IN_W(IN_W), .I0_W(I0_W), .QB(QB), .OUT_W(OUT_W), .SB_W(1),
                            .EXP_FORM(EXP_FORM)) lane (
            .clk, .en, .i0(cfg_i0), .n(cfg_n), .u(s_data[l*IN_W +: IN_W]),
            .sb_in(1'b0), .e(m_data[l*OUT_W +: OUT_W]), .sb_out(unused_sb)
        );
    end
endmodule
