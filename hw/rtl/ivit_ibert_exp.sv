// I-BERT i-exp baseline (Kim et al. 2021; spec: ibert.ibert_exp), LANES lanes, II = 1:
//   z = (-q) // q_ln2 (restoring steps; -q is clamped at 63*q_ln2, where the result is 0
//   either way), q_p = -(remainder), y = ((q_p + q_b)^2 + q_c) >> z.
// Latency ZB + 3, the same streaming throughput as ivit_shiftexp.
module ivit_ibert_exp #(
    parameter int LANES = 4,
    parameter int IN_W  = 24,
    parameter int C_W   = 12,            // width of q_ln2 and q_b
    parameter int OUT_W = 2 * C_W + 2
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [C_W-1:0]         cfg_q_ln2,
    input  logic [C_W-1:0]         cfg_q_b,
    input  logic [OUT_W-1:0]       cfg_q_c,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    localparam int ZB  = 6;
    localparam int A_W = C_W + ZB;
    localparam int CMP_W = IN_W + 1 > A_W ? IN_W + 1 : A_W;
    logic en;

    ivit_pipe_ctrl #(.LAT(ZB + 3)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    logic [A_W-1:0] lim;
    assign lim = A_W'(63) * A_W'(cfg_q_ln2);

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [IN_W:0] nq;
        logic [A_W-1:0]   a  [ZB+1];
        logic [ZB-1:0]    z  [ZB+1];
        logic signed [C_W+1:0] t;
        logic [OUT_W-1:0] poly;
        logic [ZB-1:0]    zp;

        logic signed [IN_W:0] qx;
        assign qx = (IN_W+1)'($signed(s_data[l*IN_W +: IN_W]));
        assign nq = -qx;
        always_ff @(posedge clk) begin
            if (en) begin
                // -q >= 0 (q <= 0): compared at CMP_W bits, not sign-extended to 64
                a[0] <= CMP_W'(nq) >= CMP_W'(lim) ? lim : A_W'(nq);
                z[0] <= '0;
            end
        end
        for (genvar s = 0; s < ZB; s++) begin : g_div
            localparam int B = ZB - 1 - s;
            logic [A_W-1:0] d;
            assign d = A_W'(cfg_q_ln2) << B;
            always_ff @(posedge clk) begin
                if (en) begin
                    a[s+1] <= a[s] >= d ? a[s] - d : a[s];
                    z[s+1] <= a[s] >= d ? z[s] | ZB'(1 << B) : z[s];
                end
            end
        end
        // q_p + q_b = q_b - rem (q_p = -rem in (-q_ln2, 0]).
        assign t = (C_W+2)'(cfg_q_b) - (C_W+2)'(a[ZB]);
        always_ff @(posedge clk) begin
            if (en) begin
                poly <= OUT_W'(t * t) + cfg_q_c;
                zp   <= z[ZB];
                m_data[l*OUT_W +: OUT_W] <= poly >> zp;
            end
        end
    end
endmodule
