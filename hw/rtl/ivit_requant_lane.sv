// One lane of dyadic requantization without saturation, 2 register stages:
//   y = (acc*m + off + 2^(e-1)) >>> e   in int64 (>>> floors, as the spec's >>).
module ivit_requant_lane #(
    parameter int IN_W  = 32,
    parameter int M_W   = 32,
    parameter int OFF_W = 32
) (
    input  logic                    clk,
    input  logic                    en,
    input  logic signed [IN_W-1:0]  acc,
    input  logic signed [M_W-1:0]   m,     // may be negative (folded LayerNorm gamma)
    input  logic        [5:0]       e,     // 1..62
    input  logic signed [OFF_W-1:0] off,
    output logic signed [63:0]      y
);
    logic signed [63:0] prod;
    logic        [5:0]  e_q;

    always_ff @(posedge clk) begin
        if (en) begin
            prod <= (64)'(acc) * (64)'(m) + (64)'(off);
            e_q  <= e;
            y    <= (prod + (64'sd1 <<< (e_q - 6'd1))) >>> e_q;
        end
    end
endmodule
