// I-BERT i-GELU baseline (Kim et al. 2021; spec: ibert.ibert_gelu), LANES lanes, II = 1:
//   d = min(|q|, q_clip) - q_clip;  erf = sgn(q) (q_one_erf - d^2);  y = q (erf + q_one).
// Latency 4, the same streaming throughput as ivit_shiftgelu.
module ivit_ibert_gelu #(
    parameter int LANES = 4,
    parameter int IN_W  = 8,
    parameter int CL_W  = 12,            // width of q_clip
    parameter int ONE_W = 2 * CL_W + 2,  // width of q_one_erf and q_one
    parameter int OUT_W = IN_W + ONE_W + 2
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [CL_W-1:0]        cfg_q_clip,
    input  logic [ONE_W-1:0]       cfg_q_one_erf,
    input  logic [ONE_W-1:0]       cfg_q_one,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    localparam int E_W = ONE_W + 2;      // signed erf + q_one
    logic en;

    ivit_pipe_ctrl #(.LAT(4)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [IN_W-1:0]  q, q1, q2, q3;
        logic        [IN_W-1:0]  aq;
        logic signed [CL_W:0]    d;
        logic        [ONE_W-1:0] dd;
        logic signed [E_W-1:0]   f;
        logic signed [OUT_W-1:0] qa, fa;

        assign q  = s_data[l*IN_W +: IN_W];
        assign aq = q[IN_W-1] ? IN_W'(-q) : IN_W'(q);
        always_ff @(posedge clk) begin
            if (en) begin
                d  <= ((64)'(aq) < (64)'(cfg_q_clip) ? (CL_W+1)'(aq) : (CL_W+1)'(cfg_q_clip))
                      - (CL_W+1)'(cfg_q_clip);
                q1 <= q;
                dd <= ONE_W'(d * d);
                q2 <= q1;
                if (q2 == 0)     f <= E_W'(cfg_q_one);
                else if (q2 < 0) f <= E_W'(cfg_q_one) - E_W'(cfg_q_one_erf - dd);
                else             f <= E_W'(cfg_q_one) + E_W'(cfg_q_one_erf - dd);
                q3 <= q2;
                m_data[l*OUT_W +: OUT_W] <= qa * fa;
            end
        end
        assign qa = OUT_W'(q3);
        assign fa = OUT_W'(f);
    end
endmodule
