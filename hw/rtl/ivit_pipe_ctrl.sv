// Valid/ready control of a fixed-latency pipeline: the whole pipeline advances (en) unless
// its last stage holds a result the consumer does not take. II = 1 while m_ready is high.
module ivit_pipe_ctrl #(
    parameter int LAT = 2  // pipeline stages (>= 1)
) (
    input  logic clk,
    input  logic rst,
    input  logic s_valid,
    output logic s_ready,
    output logic en,
    output logic m_valid,
    input  logic m_ready
);
    logic [LAT-1:0] vld;

    assign en      = !vld[LAT-1] || m_ready;
    assign s_ready = en;
    assign m_valid = vld[LAT-1];

    always_ff @(posedge clk) begin
        if (rst) vld <= '0;
        else if (en) begin
            vld[0] <= s_valid;
            for (int i = 1; i < LAT; i++) vld[i] <= vld[i-1];
        end
    end
endmodule
