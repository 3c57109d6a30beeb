//! `cargo xtask redrive` against SQS on moto: every dead-lettered message goes back to its queue, body and
//! attributes intact, and the dead-letter queue ends empty.

use aws_sdk_sqs::types::MessageAttributeValue;

#[tokio::test]
async fn redrive_moves_every_dead_lettered_message_back_to_its_queue() {
    let sqs = aws_sdk_sqs::Client::new(&testkit::aws_config().await);
    // A fresh environment name: its own physical queues. The ambient AWS settings point at the test moto.
    let env = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let create = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.create_queue()
                .queue_name(name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        }
    };
    let source = create(format!("niaga-{env}-notifications")).await;
    let dlq = create(format!("niaga-{env}-notifications-dlq")).await;
    for i in 0..13 {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(format!("{{\"n\": {i}}}"))
            .message_attributes(
                "event_id",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(format!("e-{i}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    xtask::redrive::run(&["notifications".into(), "--env".into(), env.clone()])
        .await
        .unwrap();
    let mut bodies = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let attrs = m.message_attributes.unwrap();
            assert!(attrs["event_id"].string_value().unwrap().starts_with("e-"));
            bodies.push(m.body.unwrap());
            sqs.delete_message()
                .queue_url(&source)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    bodies.sort();
    assert_eq!(bodies.len(), 13);
    let left = sqs
        .receive_message()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert!(left.is_empty(), "the dead-letter queue is empty");
}
