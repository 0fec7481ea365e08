// GELU, form "table" (spec: gelu.gelu_lookup): out = table[x + 2^(IN_W-1)], LANES lanes,
// II = 1, latency 2. The per-layer table (2^IN_W entries at the output scale, spec:
// gelu.gelu_table) is written through the cfg_we port before the stream starts; each lane
// reads its own copy (LUT RAM), so the lanes never conflict.
module ivit_gelu_table #(
    parameter int LANES = 4,
    parameter int IN_W  = 8,
    parameter int OUT_W = 8
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic                   cfg_we,
    input  logic [IN_W-1:0]        cfg_addr,     // entry index = x + 2^(IN_W-1)
    input  logic [OUT_W-1:0]       cfg_data,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    logic en;

    ivit_pipe_ctrl #(.LAT(2)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic [OUT_W-1:0] mem [1 << IN_W];
        logic [IN_W-1:0]  idx;
        logic [OUT_W-1:0] rd;

        always_ff @(posedge clk) if (cfg_we) mem[cfg_addr] <= cfg_data;
        always_ff @(posedge clk) begin
            if (en) begin
                // x + 2^(IN_W-1) is x with its sign bit inverted
                idx <= {~s_data[l*IN_W + IN_W - 1], s_data[l*IN_W +: IN_W-1]};
                rd  <= mem[idx];
            end
        end
        assign m_data[l*OUT_W +: OUT_W] = rd;
    end
endmodule
