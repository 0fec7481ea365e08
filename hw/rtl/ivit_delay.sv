// W-bit delay line of LAT enabled register stages (sideband that travels with a pipeline).
module ivit_delay #(
    parameter int W   = 1,
    parameter int LAT = 1
) (
    input  logic         clk,
    input  logic         en,
    input  logic [W-1:0] d,
    output logic [W-1:0] q
);
    logic [W-1:0] st [LAT];

    always_ff @(posedge clk) begin
        if (en) begin
            st[0] <= d;
            for (int i = 1; i < LAT; i++) st[i] <= st[i-1];
        end
    end
    assign q = st[LAT-1];
endmodule
